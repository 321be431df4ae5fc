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

// How a queue_worker's client fetches and reserves, and whether it keeps its
// client (with what it holds) after answering.
struct client_shape {
  uint32_t prefetch = 0;  // 0: adaptive; else a fixed batch (and credit block) size
  bool hold = false;
};

expected<message<testing::Report>> work(const actor_handle& worker, const actor_handle& q, uint32_t produce,
                                        const std::string& prefix, uint32_t take, bool ack, client_shape shape = {}) {
  return worker.request<testing::QueueWork, testing::Report>(
      [&](testing::QueueWork::Builder b) {
        b.setQueue(q.id());
        b.setProduce(produce);
        b.setPrefix(prefix);
        b.setTake(take);
        b.setAck(ack);
        b.setPrefetch(shape.prefetch);
        b.setHold(shape.hold);
      },
      patience + patience);
}

queue_status status_of(queue_client<actor_handle>& q) {
  auto s = q.status();
  BOOST_REQUIRE_MESSAGE(s, (s ? "" : to_string(s.error())));
  return *s;
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
  BOOST_TEST(get_text(q) == "typed");  // the item stayed first in line
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
  // Once its request is the queue's 7th message (after two credit requests, two
  // puts and two gets), the getter waits inside the queue, and the next put
  // hands it the item directly.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (handle.stats().messages_in < 7 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  BOOST_REQUIRE(handle.stats().messages_in == 7u);
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
  // Half of the jobs first: each worker is asked for all 200, so the victim
  // is still at work when it is killed, however fast it takes them.
  for (int i = 0; i < 100; ++i) put_text(q, "job" + std::to_string(i));
  auto survivor = n.spawn("queue_worker").value();
  auto victim = n.spawn("queue_worker").value();
  std::optional<expected<message<testing::Report>>> survived, killed;
  std::thread t1([&] { survived = work(survivor, handle, 0, "", 200, true); });
  std::thread t2([&] { killed = work(victim, handle, 0, "", 200, true); });
  // Kill the victim in the middle of the stream, once a quarter of the jobs are done.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (q.status()->unfinished > 75 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  BOOST_REQUIRE(q.status()->unfinished <= 75u);
  victim.kill();
  t2.join();
  BOOST_REQUIRE(!*killed);  // its request died with it
  for (int i = 100; i < 200; ++i) put_text(q, "job" + std::to_string(i));
  // The survivor takes everything left, the victim's unacknowledged job included.
  BOOST_REQUIRE(q.join(patience));
  auto status = q.status();
  BOOST_TEST(status->unfinished == 0u);
  BOOST_TEST(status->size == 0u);
  // It acknowledged each job before taking the next: what went back is at most
  // the one it was working on and the rest of the batch it had fetched.
  BOOST_TEST(status->redelivered <= 1u + queue_client_options{}.prefetch);
  BOOST_REQUIRE(q.close());  // ends the survivor's last, waiting get(), if the victim acknowledged any
  t1.join();
  BOOST_REQUIRE(*survived);
  // Either the victim acknowledged some jobs (never delivered again: the
  // survivor's 200th get waited until the close), or it got none before it
  // died, and the survivor took all 200, each once.
  std::string text((*survived)->getText());
  auto seen = words(text);
  if (text.find("queue_closed") == std::string::npos) {
    BOOST_TEST(seen.size() == 200u);
    BOOST_TEST(std::set<std::string>(seen.begin(), seen.end()).size() == 200u);
  }
}

BOOST_AUTO_TEST_CASE(a_producer_out_of_credits_waits_and_resumes_as_items_leave_and_the_bound_holds) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 8}).value();
  auto producer = n.spawn("queue_worker").value();
  std::optional<expected<message<testing::Report>>> produced;
  std::thread t([&] { produced = work(producer, handle, 100, "p", 0, false, {.prefetch = 4}); });
  queue_client<actor_handle> q(handle, {.prefetch = 1, .horizon = {}});
  for (int i = 0; i < 100; ++i) {
    BOOST_REQUIRE(get_text(q) == "p" + std::to_string(i));
    auto s = status_of(q);
    BOOST_REQUIRE(s.size <= 8u);
    BOOST_REQUIRE(s.size + s.credits <= 8u);  // credits are granted only against free room
  }
  t.join();
  BOOST_REQUIRE(*produced);
  BOOST_TEST(std::string((*produced)->getText()).empty());  // no error: every put resumed
  auto s = status_of(q);
  BOOST_TEST(s.size == 0u);
  BOOST_TEST(s.credits == 0u);  // the producer's client gave back what it had left
}

BOOST_AUTO_TEST_CASE(a_consumer_killed_holding_fetched_items_loses_none_and_repeats_none_it_acknowledged) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 100, .joinable = true}).value();
  queue_client<actor_handle> q(handle);
  for (int i = 0; i < 20; ++i) put_text(q, "job" + std::to_string(i));
  auto holder = n.spawn("queue_worker").value();
  auto took = work(holder, handle, 0, "", 3, true, {.prefetch = 8, .hold = true});
  BOOST_REQUIRE(took);
  BOOST_TEST(words(std::string(took->getText())) == (std::vector<std::string>{"job0", "job1", "job2"}),
             boost::test_tools::per_element());
  auto held = status_of(q);
  BOOST_TEST(held.size == 12u);
  BOOST_TEST(held.fetched == 5u);  // job3..job7: fetched, never handed out
  BOOST_TEST(held.unfinished == 17u);
  holder.kill();
  BOOST_REQUIRE(holder.join(patience));

  auto survivor = n.spawn("queue_worker").value();
  auto report = work(survivor, handle, 0, "", 17, true);
  BOOST_REQUIRE(report);
  std::vector<std::string> expected;
  for (int i = 3; i < 20; ++i) expected.push_back("job" + std::to_string(i));
  // Every job not acknowledged, once, in order (the fetched ones went back to the
  // front); none of those acknowledged.
  BOOST_TEST(words(std::string(report->getText())) == expected, boost::test_tools::per_element());
  BOOST_REQUIRE(q.join(patience));
  auto done = status_of(q);
  BOOST_TEST(done.redelivered == 5u);
  BOOST_TEST(done.fetched == 0u);
}

BOOST_AUTO_TEST_CASE(a_plain_queue_gives_back_a_dead_consumers_batch_and_a_destroyed_clients_leftovers) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 100}).value();
  queue_client<actor_handle> q(handle);
  for (int i = 0; i < 10; ++i) put_text(q, "job" + std::to_string(i));
  {
    queue_client<actor_handle> brief(handle, {.prefetch = 4, .horizon = {}});
    BOOST_REQUIRE(brief.get<testing::Echo>(patience));  // fetches job0..job3, hands out job0
  }  // gives back job1..job3
  BOOST_TEST(status_of(q).size == 9u);
  auto holder = n.spawn("queue_worker").value();
  auto took = work(holder, handle, 0, "", 2, false, {.prefetch = 4, .hold = true});  // job1, job2 of job1..job4
  BOOST_REQUIRE(took);
  BOOST_TEST(words(std::string(took->getText())) == (std::vector<std::string>{"job1", "job2"}),
             boost::test_tools::per_element());
  holder.kill();
  BOOST_REQUIRE(holder.join(patience));
  // At least once: its whole last batch comes back, the two it handed out included.
  std::vector<std::string> rest;
  for (int i = 0; i < 9; ++i) rest.push_back(get_text(q));
  BOOST_TEST(rest == (std::vector<std::string>{"job1", "job2", "job3", "job4", "job5", "job6", "job7", "job8",
                                               "job9"}),
             boost::test_tools::per_element());
  BOOST_TEST(status_of(q).redelivered == 4u);
}

BOOST_AUTO_TEST_CASE(task_done_after_the_taking_client_is_gone_acknowledges_its_processs_oldest_items) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 10, .joinable = true}).value();
  queue_client<actor_handle> q(handle);
  for (int i = 0; i < 3; ++i) put_text(q, "job" + std::to_string(i));
  {
    queue_client<actor_handle> taker(handle, {.prefetch = 3, .horizon = {}});
    BOOST_REQUIRE(get_text(taker) == "job0");  // fetches all three
    BOOST_REQUIRE(get_text(taker) == "job1");
  }  // lets go: job2 goes back; job0 and job1 wait for their acknowledgements
  queue_client<actor_handle> acker(handle);
  BOOST_REQUIRE(acker.task_done());  // this process's oldest: job0
  auto s = status_of(acker);
  BOOST_TEST(s.unfinished == 2u);
  BOOST_TEST(s.fetched == 1u);  // job1
  BOOST_TEST(s.size == 1u);     // job2, given back
  BOOST_REQUIRE(acker.task_done());  // job1
  auto extra = acker.task_done();    // job2 is queued, not taken
  BOOST_REQUIRE(!extra);
  BOOST_TEST((extra.error().code == errc::invalid_argument));
  BOOST_TEST(get_text(acker) == "job2");
  BOOST_REQUIRE(acker.task_done());
  BOOST_REQUIRE(acker.join(patience));
  BOOST_TEST(status_of(acker).fetched == 0u);
}

BOOST_AUTO_TEST_CASE(the_credits_of_a_killed_producer_come_back_as_room) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 10}).value();
  auto holder = n.spawn("queue_worker").value();
  BOOST_REQUIRE(work(holder, handle, 2, "h", 0, false, {.prefetch = 8, .hold = true}));
  queue_client<actor_handle> q(handle, {.credits = 1});
  auto held = status_of(q);
  BOOST_TEST(held.size == 2u);
  BOOST_TEST(held.credits == 6u);  // reserved 8, spent 2
  for (int i = 0; i < 2; ++i) {
    BOOST_REQUIRE(q.put_nowait<testing::Echo>([](testing::Echo::Builder b) { b.setText("x"); }));
  }
  auto full = q.put_nowait<testing::Echo>([](testing::Echo::Builder b) { b.setText("x"); });
  BOOST_REQUIRE(!full);
  BOOST_TEST((full.error().code == errc::queue_full));  // 4 items, 6 credits held
  holder.kill();
  BOOST_REQUIRE(holder.join(patience));
  BOOST_REQUIRE(eventually([&] { return status_of(q).credits == 0; }));
  for (int i = 0; i < 6; ++i) {
    BOOST_REQUIRE(q.put_nowait<testing::Echo>([](testing::Echo::Builder b) { b.setText("y"); }));
  }
  BOOST_TEST(status_of(q).size == 10u);
}

BOOST_AUTO_TEST_CASE(puts_on_credits_from_before_a_close_are_delivered_and_later_puts_fail) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 100}).value();
  auto holder = n.spawn("queue_worker").value();
  BOOST_REQUIRE(work(holder, handle, 1, "a", 0, false, {.prefetch = 8, .hold = true}));  // 7 credits left
  queue_client<actor_handle> q(handle);
  BOOST_REQUIRE(q.close());
  queue_client<actor_handle> fresh(handle);
  auto refused = fresh.put<testing::Echo>([](testing::Echo::Builder b) { b.setText("late"); });
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == errc::queue_closed));
  // The holder's puts spend credits granted before the close: accepted, until
  // they run out and its next request learns of the close.
  auto more = work(holder, handle, 10, "b", 0, false, {.prefetch = 8, .hold = true});
  BOOST_REQUIRE(more);
  BOOST_TEST(std::string(more->getText()).find("queue_closed") != std::string::npos);
  std::vector<std::string> drained;
  for (;;) {
    auto item = q.get<testing::Echo>(patience);
    if (!item) {
      BOOST_TEST((item.error().code == errc::queue_closed));
      break;
    }
    drained.push_back(item->value().getText());
  }
  BOOST_TEST(drained == (std::vector<std::string>{"a0", "b0", "b1", "b2", "b3", "b4", "b5", "b6"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_client_hands_out_a_batch_of_a_thousand_items_without_rereading_it) {
  // Each read of a list counts all its elements against the frame's traversal
  // limit: a client that read its batch's list once per item went past the
  // limit (and threw) on a batch this large.
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 2000}).value();
  queue_client<actor_handle> q(handle);
  for (int i = 0; i < 1500; ++i) {
    BOOST_REQUIRE(q.put<testing::Echo>([&](testing::Echo::Builder b) { b.setText(std::to_string(i)); }, patience));
  }
  queue_client<actor_handle> consumer(handle, {.prefetch = 1500, .horizon = {}});
  for (int i = 0; i < 1500; ++i) {
    auto item = consumer.get<testing::Echo>(patience);
    BOOST_REQUIRE_MESSAGE(item, (item ? "" : to_string(item.error())));
    BOOST_REQUIRE(std::string(item->value().getText()) == std::to_string(i));
  }
  BOOST_TEST(status_of(q).fetched == 1500u);  // in one batch, settled when it asks again
}

// An actor's pattern clients use a direct channel by default; what it sent
// there is still handled before what it, or the host after hearing from it,
// sends through the node (causal_gate.hpp). Run many times: the reply through
// the node used to leave before the acknowledgements, or overtake them.
BOOST_AUTO_TEST_CASE(acknowledgements_sent_direct_before_a_reply_through_the_node_count_in_the_next_status) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 100, .joinable = true}).value();
  queue_client<actor_handle> q(handle);
  auto consumer = n.spawn("queue_worker").value();
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 5; ++i) put_text(q, "r" + std::to_string(round) + "." + std::to_string(i));
    auto report = work(consumer, handle, 0, "", 5, true);
    BOOST_REQUIRE(report);
    BOOST_REQUIRE_MESSAGE(report->getReceived() == 5u, std::string(report->getText()));
    auto s = status_of(q);
    BOOST_REQUIRE_MESSAGE(s.unfinished == 0u, "round " << round << ": " << s.unfinished << " not acknowledged");
  }
}

// The queue learns of a consumer's death through the node; what the consumer
// acknowledged on its direct channel just before is handled first, so none of
// it comes back. Killed at once after its reply, in every round.
BOOST_AUTO_TEST_CASE(a_consumer_killed_right_after_acknowledging_on_its_direct_channel_gets_none_of_those_back) {
  node n{table()};
  auto handle = start_queue(n, {.maxsize = 1000, .joinable = true}).value();
  queue_client<actor_handle> q(handle);
  auto survivor = n.spawn("queue_worker").value();
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> jobs;
    for (int i = 0; i < 6; ++i) {
      jobs.push_back("r" + std::to_string(round) + "." + std::to_string(i));
      put_text(q, jobs.back());
    }
    auto holder = n.spawn("queue_worker").value();
    auto took = work(holder, handle, 0, "", 3, true, {.prefetch = 6, .hold = true});  // fetches 6, acknowledges 3
    BOOST_REQUIRE(took);
    BOOST_REQUIRE(words(std::string(took->getText())) == std::vector<std::string>(jobs.begin(), jobs.begin() + 3));
    holder.kill();
    BOOST_REQUIRE(holder.join(patience));
    auto rest = work(survivor, handle, 0, "", 3, true);
    BOOST_REQUIRE(rest);
    BOOST_REQUIRE_MESSAGE(words(std::string(rest->getText())) ==
                              std::vector<std::string>(jobs.begin() + 3, jobs.end()),
                          "round " << round << ": the survivor got " << std::string(rest->getText()));
  }
  BOOST_REQUIRE(q.join(patience));
  BOOST_TEST(status_of(q).redelivered == 20u * 3u);
}
