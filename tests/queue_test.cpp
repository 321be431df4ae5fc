// Queue and JoinableQueue: Python's semantics, bounded, with at-least-once
// delivery past a dead consumer.
#define BOOST_TEST_MODULE queue
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include <set>
#include <sstream>
#include <thread>

using namespace actorproc;
using test_actors::table;

namespace {

void put_text(queue_client<actor_handle>& q, const std::string& text) {
  BOOST_REQUIRE(q.put<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); }, patience));
}

std::string get_text(queue_client<actor_handle>& q) {
  auto item = q.get<testing::Echo>(patience);
  return item ? std::string(item->value().getText()) : "error: " + to_string(item.error());
}

expected<message<testing::Report>> work(const actor_handle& worker, const actor_handle& q, uint32_t produce,
                                        const std::string& prefix, uint32_t take, bool ack) {
  return worker.request<testing::QueueWork, testing::Report>(
      [&](testing::QueueWork::Builder b) {
        b.setQueue(q.id());
        b.setProduce(produce);
        b.setPrefix(prefix);
        b.setTake(take);
        b.setAck(ack);
      },
      patience + patience);
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_bounded_queue_is_fifo_and_says_full_and_empty) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 3}).value();
  queue_client<actor_handle> q(handle);
  for (auto t : {"a", "b", "c"}) put_text(q, t);
  auto full = q.put_nowait<testing::Echo>([](testing::Echo::Builder b) { b.setText("d"); });
  BOOST_REQUIRE(!full);
  BOOST_TEST((full.error().code == errc::queue_full));
  auto timed = q.put<testing::Echo>([](testing::Echo::Builder b) { b.setText("d"); }, 50ms);
  BOOST_REQUIRE(!timed);
  BOOST_TEST((timed.error().code == errc::queue_full));
  auto status = q.status();
  BOOST_REQUIRE(status);
  BOOST_TEST(status->size == 3u);
  BOOST_TEST(status->maxsize == 3u);
  BOOST_TEST(get_text(q) == "a");
  BOOST_TEST(get_text(q) == "b");
  BOOST_TEST(get_text(q) == "c");
  auto empty = q.get_nowait<testing::Echo>();
  BOOST_REQUIRE(!empty);
  BOOST_TEST((empty.error().code == errc::queue_empty));
  auto waited = q.get<testing::Echo>(50ms);
  BOOST_REQUIRE(!waited);
  BOOST_TEST((waited.error().code == errc::queue_empty));
  BOOST_TEST(*q.qsize() == 0u);
  put_text(q, "typed");
  auto wrong = q.get<testing::Report>(patience);
  BOOST_REQUIRE(!wrong);
  BOOST_TEST((wrong.error().code == errc::type_mismatch));
}

BOOST_AUTO_TEST_CASE(a_blocked_put_and_a_blocked_get_are_served_in_turn) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 1}).value();
  queue_client<actor_handle> q(handle);
  put_text(q, "first");
  std::optional<expected<void>> blocked_put;
  std::thread putter([&] {
    queue_client<actor_handle> own(handle);
    blocked_put = own.put<testing::Echo>([](testing::Echo::Builder b) { b.setText("second"); }, patience);
  });
  BOOST_TEST(get_text(q) == "first");  // makes room: the waiting put goes in
  putter.join();
  BOOST_REQUIRE(*blocked_put);
  BOOST_TEST(get_text(q) == "second");

  std::optional<std::string> blocked_get;
  std::thread getter([&] {
    queue_client<actor_handle> own(handle);
    blocked_get = get_text(own);
  });
  // Once its request is the queue's 5th message (after two puts and two gets), the
  // getter waits inside the queue, and the next put hands it the item directly.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (handle.stats().messages_in < 5 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  BOOST_REQUIRE(handle.stats().messages_in == 5u);
  put_text(q, "third");
  getter.join();
  BOOST_TEST(*blocked_get == "third");
}

BOOST_AUTO_TEST_CASE(a_closed_queue_refuses_puts_and_drains_then_reports_closed) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 10}).value();
  queue_client<actor_handle> q(handle);
  put_text(q, "x");
  BOOST_REQUIRE(q.close());
  auto refused = q.put<testing::Echo>([](testing::Echo::Builder b) { b.setText("y"); });
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == errc::queue_closed));
  BOOST_TEST(get_text(q) == "x");
  auto drained = q.get<testing::Echo>(patience);
  BOOST_REQUIRE(!drained);
  BOOST_TEST((drained.error().code == errc::queue_closed));
}

BOOST_AUTO_TEST_CASE(two_producer_actors_and_one_reader_lose_nothing_and_keep_each_ones_order) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 16}).value();  // small: the producers block often
  auto p1 = n.spawn("queue_worker").value();
  auto p2 = n.spawn("queue_worker").value();
  std::optional<expected<message<testing::Report>>> r1, r2;
  std::thread t1([&] { r1 = work(p1, handle, 200, "a", 0, false); });
  std::thread t2([&] { r2 = work(p2, handle, 200, "b", 0, false); });
  queue_client<actor_handle> q(handle);
  int next_a = 0, next_b = 0;
  for (int i = 0; i < 400; ++i) {
    std::string item = get_text(q);
    BOOST_REQUIRE(!item.empty());
    if (item[0] == 'a') BOOST_REQUIRE(item == "a" + std::to_string(next_a++));
    if (item[0] == 'b') BOOST_REQUIRE(item == "b" + std::to_string(next_b++));
  }
  t1.join();
  t2.join();
  BOOST_REQUIRE(*r1);
  BOOST_REQUIRE(*r2);
  BOOST_TEST(next_a == 200);
  BOOST_TEST(next_b == 200);
  BOOST_TEST(*q.qsize() == 0u);
}

BOOST_AUTO_TEST_CASE(join_returns_once_every_item_is_acknowledged_and_extra_task_done_is_an_error) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 100, .joinable = true}).value();
  queue_client<actor_handle> q(handle);
  for (int i = 0; i < 10; ++i) put_text(q, "job" + std::to_string(i));
  auto early = q.join(20ms);
  BOOST_REQUIRE(!early);
  BOOST_TEST((early.error().code == errc::timeout));
  auto consumer = n.spawn("queue_worker").value();
  auto report = work(consumer, handle, 0, "", 10, true);
  BOOST_REQUIRE(report);
  BOOST_TEST(report->getReceived() == 10u);
  BOOST_REQUIRE(q.join(patience));
  BOOST_TEST(q.status()->unfinished == 0u);

  put_text(q, "one more");
  BOOST_TEST(get_text(q) == "one more");
  BOOST_REQUIRE(q.task_done());
  auto extra = q.task_done();
  BOOST_REQUIRE(!extra);
  BOOST_TEST((extra.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(items_held_by_a_consumer_that_dies_are_delivered_again_so_join_never_hangs) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 100, .joinable = true}).value();
  queue_client<actor_handle> q(handle);
  for (int i = 0; i < 20; ++i) put_text(q, "job" + std::to_string(i));
  auto doomed = n.spawn("queue_worker").value();
  auto took = work(doomed, handle, 0, "", 3, false);  // takes three, acknowledges none
  BOOST_REQUIRE(took);
  BOOST_TEST(words(std::string(took->getText())) == (std::vector<std::string>{"job0", "job1", "job2"}),
             boost::test_tools::per_element());
  doomed.kill();
  BOOST_REQUIRE(doomed.join(patience));

  auto survivor = n.spawn("queue_worker").value();
  auto report = work(survivor, handle, 0, "", 20, true);
  BOOST_REQUIRE(report);
  auto seen = words(std::string(report->getText()));
  BOOST_TEST(seen.size() == 20u);
  BOOST_TEST(std::set<std::string>(seen.begin(), seen.end()).size() == 20u);  // every job, once, to the survivor
  BOOST_TEST(seen.front() == "job0");  // redelivered items went back to the front, in order
  BOOST_REQUIRE(q.join(patience));
  BOOST_TEST(q.status()->redelivered == 3u);
}

BOOST_AUTO_TEST_CASE(killing_a_consumer_mid_stream_loses_nothing_and_join_completes) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 200, .joinable = true}).value();
  queue_client<actor_handle> q(handle);
  for (int i = 0; i < 200; ++i) put_text(q, "job" + std::to_string(i));
  auto survivor = n.spawn("queue_worker").value();
  auto victim = n.spawn("queue_worker").value();
  std::optional<expected<message<testing::Report>>> survived, killed;
  std::thread t1([&] { survived = work(survivor, handle, 0, "", 200, true); });
  std::thread t2([&] { killed = work(victim, handle, 0, "", 200, true); });
  // Kill the victim in the middle of the stream, once a quarter of the jobs are done.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (q.status()->unfinished > 150 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  BOOST_REQUIRE(q.status()->unfinished <= 150u);
  victim.kill();
  t2.join();
  BOOST_REQUIRE(!*killed);  // its request died with it
  // The survivor takes everything left, the victim's unacknowledged job included.
  BOOST_REQUIRE(q.join(patience));
  auto status = q.status();
  BOOST_TEST(status->unfinished == 0u);
  BOOST_TEST(status->size == 0u);
  BOOST_TEST(status->redelivered <= 1u);  // it acknowledged each job before taking the next
  BOOST_REQUIRE(q.close());               // ends the survivor's last, waiting get()
  t1.join();
  BOOST_REQUIRE(*survived);
  BOOST_TEST(std::string((*survived)->getText()).find("queue_closed") != std::string::npos);
}
