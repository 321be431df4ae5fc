// Messaging: requests and replies in every direction, timeouts, errors as
// values, bad frames from a child, monitors, and bounded mailboxes.
#define BOOST_TEST_MODULE messaging
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include <examples/messages.capnp.h>

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

using namespace actorproc;
using test_actors::table;

namespace {

std::string echo_through(const actor_handle& a, const std::string& text) {
  auto r = a.request<testing::Echo, testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); }, patience);
  return r ? std::string(r->getText()) : "error: " + to_string(r.error());
}

std::string relay(const actor_handle& via, const actor_handle& to, const std::string& text,
                  uint32_t timeout_ms = 5000) {
  auto r = via.request<testing::Relay, testing::Echo>(
      [&](testing::Relay::Builder b) {
        b.setTarget(to.id());
        b.setText(text);
        b.setTimeoutMillis(timeout_ms);
      },
      patience);
  return r ? std::string(r->getText()) : "error: " + to_string(r.error());
}

uint64_t ticks_of(const actor_handle& a) {
  auto r = a.request<testing::Stats, testing::Report>({}, patience);
  BOOST_REQUIRE(r);
  return r->getReceived();
}

// Collects what the node logs, for asserting that errors name the actor.
struct log_capture {
  std::mutex mutex;
  std::vector<std::string> lines;
  node_options options() {
    node_options o;
    o.log = [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
    return o;
  }
  bool contains(const std::string& needle) {
    std::lock_guard lock(mutex);
    for (auto& l : lines) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_node_sends_and_requests_and_one_way_messages_arrive_in_order) {
  node n{table()};
  auto a = n.spawn("echo").value();
  for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(a.send<testing::Tick>());
  BOOST_TEST(ticks_of(a) == 1000u);
  BOOST_TEST(echo_through(a, "hello") == "hello");
  BOOST_TEST(a.stats().messages_in == 1002u);
}

BOOST_AUTO_TEST_CASE(requests_from_many_threads_each_get_their_own_answer) {
  node n{table()};
  auto a = n.spawn("echo").value();
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string text = std::to_string(t) + ":" + std::to_string(i);
        if (echo_through(a, text) == text) ++right;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(right.load() == 400);
}

BOOST_AUTO_TEST_CASE(a_worker_requests_another_worker_through_the_node) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto b = n.spawn("echo").value();
  BOOST_TEST(relay(a, b, "via node") == "via node");
  BOOST_TEST(relay(b, a, "and back") == "and back");
}

BOOST_AUTO_TEST_CASE(connected_workers_talk_over_their_direct_channel) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto b = n.spawn("echo").value();
  BOOST_REQUIRE(n.connect(a, b));
  auto routed_before = b.stats().messages_in;
  for (int i = 0; i < 20; ++i) BOOST_TEST(relay(a, b, "direct " + std::to_string(i)) == "direct " + std::to_string(i));
  // The node carried the 20 Relay requests to a, but none of the Echo requests to b.
  BOOST_TEST(b.stats().messages_in == routed_before);
}

BOOST_AUTO_TEST_CASE(a_request_to_an_actor_that_dies_on_the_direct_channel_fails_without_hanging) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto b = n.spawn("echo").value();
  BOOST_REQUIRE(n.connect(a, b));
  BOOST_TEST(relay(a, b, "warm") == "warm");
  b.kill();
  BOOST_REQUIRE(b.join(patience));
  std::string answer = relay(a, b, "anyone?", 15000);
  BOOST_TEST(answer.find("error") == 0u);
  BOOST_TEST(answer.find("timeout") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_request_that_is_not_answered_in_time_times_out_and_the_late_answer_is_dropped) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto slow = a.request<testing::Nap, testing::Echo>([](testing::Nap::Builder b) { b.setMillis(500); }, 50ms);
  BOOST_REQUIRE(!slow);
  BOOST_TEST((slow.error().code == errc::timeout));
  BOOST_TEST(echo_through(a, "next") == "next");  // the late "rested" did not answer this one
}

BOOST_AUTO_TEST_CASE(a_request_to_an_actor_killed_meanwhile_fails_promptly_with_actor_down) {
  node n{table()};
  auto a = n.spawn("echo").value();
  std::optional<expected<message<testing::Echo>>> answer;
  std::thread requester([&] {
    answer = a.request<testing::Nap, testing::Echo>([](testing::Nap::Builder b) { b.setMillis(60000); }, 60s);
  });
  // The request is in flight once the actor has read it: its mailbox is empty and it is napping.
  for (int i = 0; i < 2000 && a.stats().messages_in == 0; ++i) std::this_thread::yield();
  a.kill();
  requester.join();  // must return long before the 60 s timeout
  BOOST_REQUIRE(answer.has_value());
  BOOST_REQUIRE(!*answer);
  BOOST_TEST(((*answer).error().code == errc::actor_down));
  BOOST_REQUIRE((*answer).error().reason);
  BOOST_TEST((*answer).error().reason->signal == SIGKILL);
}

BOOST_AUTO_TEST_CASE(errors_come_back_as_values) {
  node n{table()};
  auto a = n.spawn("echo").value();

  auto unhandled = a.request<testing::Unhandled, testing::Echo>({}, patience);
  BOOST_REQUIRE(!unhandled);
  BOOST_TEST((unhandled.error().code == errc::unhandled_message));
  BOOST_REQUIRE(a.send<testing::Unhandled>());  // one-way: logged and dropped, the actor lives on
  BOOST_TEST(echo_through(a, "alive") == "alive");

  auto mismatch = a.request<testing::Echo, testing::Report>({}, patience);
  BOOST_REQUIRE(!mismatch);
  BOOST_TEST((mismatch.error().code == errc::type_mismatch));

  auto thrown = a.request<testing::Crash, testing::Echo>(
      [](testing::Crash::Builder b) { b.setHow(testing::Crash::How::THROW_EXCEPTION); }, patience);
  BOOST_REQUIRE(!thrown);
  BOOST_TEST((thrown.error().code == errc::handler_exception));
  BOOST_TEST(thrown.error().message == "boom in the handler");
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::exception));

  auto after = a.request<testing::Echo, testing::Echo>({}, patience);
  BOOST_REQUIRE(!after);
  BOOST_TEST((after.error().code == errc::actor_down));
}

BOOST_AUTO_TEST_CASE(a_worker_request_to_a_dead_or_unknown_actor_fails_with_a_reason) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto b = n.spawn("echo").value();
  b.kill();
  BOOST_REQUIRE(b.join(patience));
  std::string answer = relay(a, b, "x");
  BOOST_TEST(answer.find("actor_down") != std::string::npos);
  BOOST_TEST(answer.find("signal 9") != std::string::npos);

  auto r = a.request<testing::Relay, testing::Echo>([](testing::Relay::Builder m) { m.setTarget(999999); }, patience);
  BOOST_REQUIRE(r);
  BOOST_TEST(std::string(r->getText()).find("unknown_actor") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_kind_of_bad_frame_kills_only_its_sender_with_protocol_error) {
  log_capture log;
  node n{table(), log.options()};
  auto bystander = n.spawn("echo").value();
  using K = testing::SendGarbage::Kind;
  for (auto kind : {K::TOO_MANY_SEGMENTS, K::OVERSIZED, K::BAD_POINTER, K::UNKNOWN_KIND, K::TRUNCATED,
                    K::SPOOFED_SENDER, K::EMPTY_FRAME, K::WRONG_POINTER_KIND, K::BATCH_WITH_CORRELATION}) {
    auto culprit = n.spawn("echo", {.name = "culprit-" + std::to_string(static_cast<int>(kind))}).value();
    BOOST_REQUIRE(culprit.send<testing::SendGarbage>([&](testing::SendGarbage::Builder b) { b.setKind(kind); }));
    auto reason = culprit.join(patience);
    BOOST_REQUIRE(reason);
    BOOST_TEST((reason->what == exit_reason::kind::protocol_error),
               "kind " << static_cast<int>(kind) << ": " << to_string(*reason));
    BOOST_TEST(log.contains("actor '" + culprit.name() + "'"));
  }
  BOOST_TEST(echo_through(bystander, "still here") == "still here");
}

BOOST_AUTO_TEST_CASE(monitors_hear_of_an_exit_in_the_node_and_in_workers) {
  node n{table()};
  auto watcher = n.spawn("echo").value();
  auto target = n.spawn("echo").value();
  std::mutex mutex;
  std::condition_variable heard;
  std::optional<exit_reason> seen;
  target.monitor([&](actor_ref who, const exit_reason& why) {
    std::lock_guard lock(mutex);
    if (who == target.ref()) seen = why;
    heard.notify_all();
  });
  auto watching = watcher.request<testing::Watch, testing::Echo>(
      [&](testing::Watch::Builder b) { b.setTarget(target.id()); }, patience);
  BOOST_REQUIRE(watching);
  // The Watch reply is sent after the worker's monitor request, so the node registered it.
  BOOST_REQUIRE(target.send<testing::Crash>([](testing::Crash::Builder b) { b.setHow(testing::Crash::How::EXIT3); }));
  {
    std::unique_lock lock(mutex);
    BOOST_REQUIRE(heard.wait_for(lock, patience, [&] { return seen.has_value(); }));
  }
  BOOST_TEST(seen->code == 3);
  // The worker learns it through a down message; ask until it has been handled.
  std::string down;
  for (int i = 0; i < 1000 && down.empty(); ++i) {
    auto r = watcher.request<testing::Stats, testing::Report>({}, patience);
    BOOST_REQUIRE(r);
    down = r->getText();
  }
  BOOST_TEST(down == std::to_string(target.id()) + ": exit code 3");
}

BOOST_AUTO_TEST_CASE(a_full_mailbox_makes_the_node_sender_wait_then_fail_and_memory_stays_bounded) {
  node_options options;
  options.mailbox_bytes = 64 * 1024;
  node n{table(), options};
  auto slow = n.spawn("echo", {.args = {"20"}}).value();  // 20 ms per Tick
  std::size_t sent = 0;
  std::optional<error> refused;
  for (std::size_t i = 0; i < 1000000 && !refused; ++i) {
    auto r = slow.send<testing::Tick>({}, 10ms);
    if (r) {
      ++sent;
    } else {
      refused = r.error();
    }
    BOOST_REQUIRE(slow.stats().mailbox_bytes <= options.mailbox_bytes + 1024);
  }
  BOOST_REQUIRE(refused);
  BOOST_TEST((refused->code == errc::mailbox_full));
  BOOST_TEST(sent > 1000u);  // the socket buffers and the mailbox bound, not one message
  slow.kill();
}

BOOST_AUTO_TEST_CASE(a_fast_worker_flooding_a_slow_one_is_held_back_by_the_node_and_nothing_is_lost) {
  node_options options;
  options.mailbox_bytes = 32 * 1024;
  node n{table(), options};
  auto slow = n.spawn("echo", {.args = {"1"}}).value();  // 1 ms per Tick
  auto fast = n.spawn("echo").value();
  constexpr uint64_t count = 3000;
  std::optional<expected<message<testing::Report>>> flooded;
  std::atomic<bool> flood_answered{false};  // publishes `flooded` to this thread
  std::thread flooder([&] {
    flooded = fast.request<testing::Flood, testing::Report>(
        [&](testing::Flood::Builder b) {
          b.setTarget(slow.id());
          b.setCount(count);
        },
        120s);
    flood_answered = true;
  });
  std::size_t peak = 0;
  while (!flood_answered) {
    peak = std::max(peak, slow.stats().mailbox_bytes);
    std::this_thread::yield();
  }
  flooder.join();
  BOOST_REQUIRE(*flooded);
  BOOST_TEST((*flooded)->getReceived() == count);
  // A frame is admitted below the bound, so the bound is exceeded by one frame
  // at most: a batch of Ticks, closed at its size limit.
  BOOST_TEST(peak <= options.mailbox_bytes + wire::batch_builder::close_at_bytes + 1024);
  BOOST_TEST(ticks_of(slow) == count);  // ordered after every Tick: all arrived
}

// A worker's burst of sends to one actor travels in batch envelopes. Whatever
// the batching (message sizes vary, big ones close a batch early), every
// message arrives once and in order, through the node and over a direct
// channel, and the node counts messages, not frames.
BOOST_AUTO_TEST_CASE(a_burst_of_sends_arrives_complete_and_in_order_routed_and_direct) {
  node n{table()};
  auto sink = n.spawn("echo").value();
  auto source = n.spawn("echo").value();
  constexpr uint64_t count = 5000;
  auto flood = [&] {
    auto r = source.request<testing::Flood, testing::Report>(
        [&](testing::Flood::Builder b) {
          b.setTarget(sink.id());
          b.setCount(count);
          b.setNumbered(true);
          b.setBigEvery(997);
        },
        patience);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->getReceived() == count, r->getText().cStr());
  };
  auto received = [&] {
    auto r = sink.request<testing::SeqStats, testing::Report>({}, patience);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->getText().size() == 0u, r->getText().cStr());
    return r->getReceived();
  };

  flood();
  BOOST_TEST(received() == count);
  BOOST_TEST(source.stats().messages_out >= count);  // the Flood's Report is one more
  BOOST_TEST(sink.stats().messages_in >= count);

  BOOST_REQUIRE(n.connect(source, sink));
  flood();
  // The burst took the direct channel, this request the node: wait for the burst.
  BOOST_TEST(eventually([&] { return received() == 2 * count; }), "received " << received());
}

// A send's fill function only fills: one that uses the context on the same
// channel (here, a request) would close the batch holding the message it
// fills. It throws instead, and the actor crashes with a reason that says so.
BOOST_AUTO_TEST_CASE(a_fill_function_that_uses_the_same_channel_crashes_its_actor_with_a_clear_reason) {
  node n{table()};
  auto other = n.spawn("echo").value();
  auto culprit = n.spawn("echo").value();
  auto r = culprit.request<testing::NestedSend, testing::Echo>(
      [&](testing::NestedSend::Builder b) { b.setTarget(other.id()); }, patience);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == errc::handler_exception), to_string(r.error()));
  BOOST_TEST(to_string(r.error()).find("fill functions must only fill") != std::string::npos, to_string(r.error()));
  auto reason = culprit.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::exception), to_string(*reason));
  BOOST_TEST(ticks_of(other) == 0u);  // the half-filled Tick was never sent
}

// A message too large for a frame would make its receiver refuse the frame
// and kill the sender. Each sender refuses it first instead, with too_large,
// and goes on: a worker's one-way send (the messages batched before it still
// arrive, in order), a worker's reply, and the node's own send.
BOOST_AUTO_TEST_CASE(a_message_too_large_for_a_frame_is_refused_by_its_sender_with_too_large) {
  node_options options;
  options.limits.max_frame_bytes = 16 * 1024;  // the Flood's 20 KB messages do not fit
  node n{table(), options};
  auto sink = n.spawn("echo").value();
  auto source = n.spawn("echo").value();

  auto flood = source.request<testing::Flood, testing::Report>(
      [&](testing::Flood::Builder b) {
        b.setTarget(sink.id());
        b.setCount(100);
        b.setNumbered(true);
        b.setBigEvery(4);  // messages 0-2 are small, 3 is 20 KB
      },
      patience);
  BOOST_REQUIRE(flood);
  BOOST_TEST(flood->getReceived() == 3u);
  BOOST_TEST(std::string(flood->getText()).find("too_large") != std::string::npos, flood->getText().cStr());
  auto seqs = sink.request<testing::SeqStats, testing::Report>({}, patience);
  BOOST_REQUIRE(seqs);
  BOOST_TEST(seqs->getReceived() == 3u);
  BOOST_TEST(seqs->getText().size() == 0u, seqs->getText().cStr());

  auto big = source.request<testing::BigReply, testing::Echo>(
      [](testing::BigReply::Builder b) { b.setBytes(20000); }, patience);
  BOOST_REQUIRE(!big);
  BOOST_TEST((big.error().code == errc::too_large), to_string(big.error()));

  std::string text(20000, 'y');
  auto sent = sink.send<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
  BOOST_REQUIRE(!sent);
  BOOST_TEST((sent.error().code == errc::too_large), to_string(sent.error()));

  // Nobody was killed for it.
  BOOST_TEST(echo_through(source, "still here") == "still here");
  BOOST_TEST(echo_through(sink, "still here") == "still here");
}

// A worker that exits while the node still holds its messages back (their
// destination's mailbox is full) has them all delivered: a dead sender's exit
// is finished only once its stream is routed.
BOOST_AUTO_TEST_CASE(what_a_worker_sent_before_exiting_is_delivered_even_while_held_back) {
  node_options options;
  options.mailbox_bytes = 16 * 1024;
  node n{table(), options};
  auto slow = n.spawn("echo", {.args = {"5"}}).value();  // 5 ms per Tick
  auto fast = n.spawn("echo").value();
  // fast exits within its exit-flush bound (1 s), long before slow has had the 1500.
  constexpr uint64_t count = 1500;
  // The Flood's answer is the last thing fast writes before its exit
  // announcement: it comes only if the node read fast's stream to its end.
  std::promise<expected<message<testing::Report>>> answered;
  fast.request_async<testing::Flood, testing::Report>(
      [&](testing::Flood::Builder b) {
        b.setTarget(slow.id());
        b.setCount(count);
      },
      [&](expected<message<testing::Report>> r) { answered.set_value(std::move(r)); });
  BOOST_REQUIRE(
      fast.send<testing::Crash>([](testing::Crash::Builder b) { b.setHow(testing::Crash::How::STOP_NORMALLY); }));
  auto left = fast.join(patience);
  BOOST_REQUIRE(left);
  BOOST_TEST(left->is_normal(), to_string(*left));
  auto report = answered.get_future();
  BOOST_REQUIRE(report.wait_for(patience) == std::future_status::ready);
  auto flooded = report.get();
  BOOST_REQUIRE_MESSAGE(flooded, (flooded ? "" : to_string(flooded.error())));
  BOOST_TEST(flooded->getReceived() == count);  // all of them sent
  BOOST_TEST(eventually([&] { return ticks_of(slow) == count; }), "slow received " << ticks_of(slow));
}

BOOST_AUTO_TEST_CASE(a_worker_request_to_an_actor_that_dies_before_answering_fails_promptly) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto b = n.spawn("echo").value();
  BOOST_REQUIRE(b.send<testing::Nap>([](testing::Nap::Builder m) { m.setMillis(60000); }));  // busy for a minute
  std::string answer;
  std::thread requester([&] { answer = relay(a, b, "anyone?", 60000); });
  // Once the node has delivered a's request to b (b's second message), kill b.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (b.stats().messages_in < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  BOOST_REQUIRE(b.stats().messages_in == 2u);
  b.kill();
  requester.join();  // relay()'s own request would time out after 20 s, a's after 60 s
  BOOST_TEST(answer.find("actor_down") != std::string::npos, answer);
  BOOST_TEST(answer.find("signal 9") != std::string::npos, answer);
}

// A direct peer that floods a slow actor does not hold back a stop that comes
// through the node: the stop waits for none of the direct frames
// (causal_gate.hpp), and the actor looks at its mailbox between them.
BOOST_AUTO_TEST_CASE(a_stop_through_the_mailbox_wins_over_a_flooding_direct_peer) {
  node n{table()};
  auto slow = n.spawn("echo", {.args = {"1"}}).value();  // 1 ms per Tick
  auto fast = n.spawn("echo").value();
  BOOST_REQUIRE(n.connect(fast, slow));
  // 20,000 Ticks (20 s of work for the slow actor), all sent once answered;
  // then a flood that goes on while the stop comes, and would keep a
  // snapshot of the direct channel growing up to its bound.
  auto flooded = fast.request<testing::Flood, testing::Report>(
      [&](testing::Flood::Builder b) {
        b.setTarget(slow.id());
        b.setCount(20000);
      },
      patience);
  BOOST_REQUIRE(flooded);
  fast.request_async<testing::Flood, testing::Report>(
      [&](testing::Flood::Builder b) {
        b.setTarget(slow.id());
        b.setCount(10'000'000);
      },
      [](expected<message<testing::Report>>) {});
  auto t0 = std::chrono::steady_clock::now();
  slow.stop(patience);  // a long grace: no signal ends it, the stop message must
  auto gone = slow.join(patience);
  BOOST_REQUIRE(gone);
  BOOST_TEST((gone->what == exit_reason::kind::normal));
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST_MESSAGE("stopped after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  BOOST_TEST((took < 4s));
}
