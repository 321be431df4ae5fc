// The host side's fast paths: a thread waiting for its request's answer reads
// it itself (node/link_reading.cpp), consecutive sends from the host are
// batched, the node's descriptor limit, and direct channels a worker asks for.
#define BOOST_TEST_MODULE host
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"
#include "helpers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <future>
#include <optional>
#include <thread>
#include <vector>

using namespace actorproc;
using test_actors::table;

BOOST_AUTO_TEST_CASE(an_answer_sent_just_before_the_actor_exits_is_still_the_answer) {
  // The waiting thread reads the answer while the reactor sees the exit: the
  // exit must wait for the answer, which is no_reply here (the handler stops
  // without replying), never actor_down.
  node n{table()};
  for (int i = 0; i < 20; ++i) {
    auto a = n.spawn("echo").value();
    auto r = a.request<testing::Crash, testing::Echo>(
        [](testing::Crash::Builder b) { b.setHow(testing::Crash::How::STOP_NORMALLY); }, patience);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == errc::no_reply), to_string(r.error()));
    auto reason = a.join(patience);
    BOOST_REQUIRE(reason);
    BOOST_TEST((reason->what == exit_reason::kind::normal));
  }
}

BOOST_AUTO_TEST_CASE(an_async_answer_read_by_a_waiting_thread_still_runs_on_the_reactor_thread) {
  node n{table()};
  auto a = n.spawn("echo").value();
  for (int i = 0; i < 10; ++i) {
    std::promise<std::thread::id> called_on;
    a.request_async<testing::Nap, testing::Echo>(
        [](testing::Nap::Builder b) { b.setMillis(50); },
        [&](expected<message<testing::Echo>> r) {
          BOOST_TEST(r.has_value());
          called_on.set_value(std::this_thread::get_id());
        });
    // Queued behind the nap: this thread reads the socket when the nap's answer comes.
    std::thread::id waiter;
    std::thread blocking([&] {
      waiter = std::this_thread::get_id();
      auto r = a.request<testing::Echo, testing::Echo>([](testing::Echo::Builder b) { b.setText("after"); },
                                                       patience);
      BOOST_TEST((r && std::string(r->getText()) == "after"));
    });
    blocking.join();
    auto future = called_on.get_future();
    BOOST_REQUIRE(future.wait_for(patience) == std::future_status::ready);
    auto id = future.get();
    BOOST_TEST((id != waiter));
    BOOST_TEST((id != std::this_thread::get_id()));
  }
}

namespace {

// Seq messages the actor received, and its first order error ("" if none).
std::pair<uint64_t, std::string> seq_stats(const actor_handle& a) {
  auto r = a.request<testing::SeqStats, testing::Report>({}, patience);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : to_string(r.error())));
  return {r->getReceived(), r->getText()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(host_sends_in_a_burst_arrive_complete_and_in_order_with_the_requests_between_them) {
  node n{table()};
  auto a = n.spawn("echo").value();
  uint64_t sent = 0;
  for (int round = 1; round <= 50; ++round) {
    for (int i = 0; i < 200; ++i, ++sent) {
      BOOST_REQUIRE(a.send<testing::Seq>([&](testing::Seq::Builder b) { b.setN(sent); }));
    }
    // A request goes after every send before it: the batch leaves first.
    auto stats = seq_stats(a);
    BOOST_REQUIRE_EQUAL(stats.first, sent);
    BOOST_REQUIRE_EQUAL(stats.second, "");
  }
  BOOST_TEST(a.stats().messages_in == sent + 50);
}

BOOST_AUTO_TEST_CASE(the_tail_of_a_burst_leaves_without_any_later_call_and_a_lone_send_leaves_at_once) {
  node n{table()};
  auto a = n.spawn("echo").value();
  for (int round = 0; round < 20; ++round) {
    for (uint64_t i = 0; i < 30; ++i) {
      BOOST_REQUIRE(a.send<testing::Seq>([&](testing::Seq::Builder b) { b.setN(i); }));
    }
    // Nothing else is sent: the reactor writes the batch once it has lingered.
    BOOST_REQUIRE(eventually([&] { return a.stats().mailbox_bytes == 0; }));
  }
  BOOST_TEST(seq_stats(a).first == 20u * 30u);
  // After a pause, a send is written by the sending thread itself.
  std::this_thread::sleep_for(1ms);  // not a synchronization: only a gap longer than a burst's
  BOOST_REQUIRE(a.send<testing::Seq>([](testing::Seq::Builder b) { b.setN(0); }));
  BOOST_TEST(a.stats().mailbox_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(sends_from_several_host_threads_each_arrive_in_order_batched_or_not) {
  node n{table()};
  auto a = n.spawn("echo").value();
  constexpr uint64_t threads = 4, each = 20000;
  std::atomic<uint64_t> refused{0};
  std::vector<std::thread> senders;
  for (uint64_t t = 1; t <= threads; ++t) {
    senders.emplace_back([&, t] {
      for (uint64_t i = 0; i < each; ++i) {
        auto sent = a.send<testing::Seq>([&](testing::Seq::Builder b) {
          b.setN(t << 48 | i);
          // Now and then a message too large to share a batch: written alone,
          // after the batch before it.
          if (i % 997 == 0) b.initPad(2000);
        });
        if (!sent) ++refused;
      }
    });
  }
  for (auto& s : senders) s.join();
  BOOST_TEST(refused.load() == 0u);
  auto stats = seq_stats(a);
  BOOST_TEST(stats.first == threads * each);
  BOOST_TEST(stats.second == "");
}

BOOST_AUTO_TEST_CASE(a_fill_may_send_to_the_same_actor_and_a_fill_that_throws_sends_nothing) {
  node n{table()};
  auto a = n.spawn("echo").value();
  uint64_t next = 0;
  for (int i = 0; i < 3000; ++i) {
    // In a burst, so the outer message is built in the thread's scratch; the
    // nested send (there or in its own envelope) is written first.
    BOOST_REQUIRE(a.send<testing::Seq>([&](testing::Seq::Builder b) {
      uint64_t first = next++;
      BOOST_REQUIRE(a.send<testing::Seq>([&](testing::Seq::Builder inner) { inner.setN(first); }));
      b.setN(next++);
    }));
    if (i % 100 == 0) {
      BOOST_CHECK_THROW(a.send<testing::Seq>([](testing::Seq::Builder) { throw std::runtime_error("fill failed"); }),
                        std::runtime_error);
    }
  }
  auto stats = seq_stats(a);
  BOOST_TEST(stats.first == next);
  BOOST_TEST(stats.second == "");
}

BOOST_AUTO_TEST_CASE(a_burst_to_an_actor_that_dies_ends_in_actor_down_without_hanging) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto deadline = std::chrono::steady_clock::now() + patience;
  std::optional<error> failed;
  for (uint64_t i = 0; !failed && std::chrono::steady_clock::now() < deadline; ++i) {
    if (i == 5000) BOOST_REQUIRE(a.kill());
    // Until the node has seen the death, a send is written and lost with the
    // process (as in Erlang); then it fails at once.
    auto sent = a.send<testing::Seq>([&](testing::Seq::Builder b) { b.setN(i); });
    if (!sent) failed = sent.error();
  }
  BOOST_REQUIRE(failed);
  BOOST_TEST((failed->code == errc::actor_down), to_string(*failed));
  BOOST_REQUIRE(a.join(patience));
  auto after = a.send<testing::Seq>([](testing::Seq::Builder b) { b.setN(0); });
  BOOST_REQUIRE(!after);
  BOOST_TEST((after.error().code == errc::actor_down));
}

namespace {

// Runs `body` in a forked child (it changes process-wide limits) and returns
// its exit code; 99 if it did not finish within patience (then it is killed).
// The child reports what failed on stderr.
int in_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  int status = 0;
  if (!test_helpers::wait_gone(pid, patience)) {  // its pidfd: the exit itself, not a poll
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return 99;
  }
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

int fail(const std::string& why) {
  std::fprintf(stderr, "child: %s\n", why.c_str());
  return 1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_node_raises_its_soft_descriptor_limit_to_the_hard_one_and_says_so) {
  int rc = in_child([] {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < 512) return fail("hard limit too low for this test");
    limit.rlim_cur = 256;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return fail("setrlimit");
    std::vector<std::string> lines;
    node_options options;
    options.log = [&](const std::string& line) { lines.push_back(line); };
    node n{table(), options};
    rlimit now{};
    ::getrlimit(RLIMIT_NOFILE, &now);
    if (now.rlim_cur != limit.rlim_max) return fail("soft limit not raised");
    if (lines.empty() || lines[0].find("RLIMIT_NOFILE") == std::string::npos ||
        lines[0].find("from 256") == std::string::npos) {
      return fail("not said: " + (lines.empty() ? std::string("(nothing logged)") : lines[0]));
    }
    return 0;
  });
  BOOST_TEST(rc == 0);
}

BOOST_AUTO_TEST_CASE(a_spawn_beyond_the_descriptor_limit_fails_naming_the_limit_and_the_actors_alive) {
  int rc = in_child([] {
    // A hard limit a few dozen descriptors above what is open now.
    int open_now = 0;
    for (int fd = 0; fd < 4096; ++fd) open_now += ::fcntl(fd, F_GETFD) != -1;
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(open_now + 60);
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return fail("setrlimit");
    node n{table()};
    std::vector<actor_handle> actors;
    std::optional<error> refused;
    for (int i = 0; i < 100 && !refused; ++i) {
      auto a = n.spawn("echo");
      if (a) {
        actors.push_back(*a);
      } else {
        refused = a.error();
      }
    }
    if (!refused) return fail("100 spawns all succeeded under a limit of " + std::to_string(limit.rlim_cur));
    std::string text = to_string(*refused);
    std::string alive = std::to_string(actors.size()) + " actors alive";
    if (text.find("RLIMIT_NOFILE = " + std::to_string(limit.rlim_cur)) == std::string::npos ||
        text.find(alive) == std::string::npos) {
      return fail("unclear error: " + text);
    }
    if (actors.size() < 10) return fail("only " + std::to_string(actors.size()) + " actors ran");
    // Still healthy: every actor answers, and one that exits makes room for another.
    for (auto& a : actors) {
      auto r = a.request<testing::Echo, testing::Echo>([](testing::Echo::Builder b) { b.setText("ok"); }, patience);
      if (!r) return fail("an actor stopped answering: " + to_string(r.error()));
    }
    actors.back().stop();
    if (!actors.back().join(patience)) return fail("join");
    auto again = n.spawn("echo");
    if (!again) return fail("no spawn after an exit: " + to_string(again.error()));
    return 0;
  });
  BOOST_TEST(rc == 0);
}

namespace {

bool echo_through_works(const actor_handle& a) {
  auto r = a.request<testing::Echo, testing::Echo>([](testing::Echo::Builder b) { b.setText("still"); }, patience);
  return r && std::string(r->getText()) == "still";
}

std::string connect_to(const actor_handle& from, const actor_handle& to) {
  auto r = from.request<testing::Connect, testing::Echo>([&](testing::Connect::Builder b) { b.setTarget(to.id()); },
                                                         patience);
  return r ? std::string(r->getText()) : "error: " + to_string(r.error());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_worker_connects_itself_to_a_peer_and_their_messages_then_bypass_the_node) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto b = n.spawn("echo").value();
  BOOST_REQUIRE_EQUAL(connect_to(a, b), "connected");
  BOOST_REQUIRE_EQUAL(connect_to(a, b), "connected");  // already connected: at once
  // The node reads from `a` only the Flood's answer, not the 1000 Ticks, and
  // writes none of them to `b`.
  auto a_out = a.stats().messages_out;
  auto b_in = b.stats().messages_in;
  auto flood = a.request<testing::Flood, testing::Report>(
      [&](testing::Flood::Builder f) {
        f.setTarget(b.id());
        f.setCount(1000);
      },
      patience);
  BOOST_REQUIRE(flood);
  BOOST_REQUIRE_EQUAL(flood->getReceived(), 1000u);
  BOOST_TEST(a.stats().messages_out == a_out + 1);
  BOOST_TEST(b.stats().messages_in == b_in);
  // The channels of `b` have no order between them: its mailbox may answer
  // before its direct channel is read to the end.
  BOOST_TEST(eventually([&] {
    auto ticks = b.request<testing::Stats, testing::Report>({}, patience);
    return ticks && ticks->getReceived() == 1000u;
  }));
  // The peer's death is seen on the direct channel: a request to it fails, and never hangs.
  b.kill();
  BOOST_REQUIRE(b.join(patience));
  auto r = a.request<testing::Relay, testing::Echo>(
      [&](testing::Relay::Builder m) {
        m.setTarget(b.id());
        m.setText("anyone?");
        m.setTimeoutMillis(20000);
      },
      patience);
  BOOST_REQUIRE(r);
  BOOST_TEST(std::string(r->getText()).find("error: ") == 0u, r->getText().cStr());
}

BOOST_AUTO_TEST_CASE(a_worker_connect_to_an_unknown_actor_or_itself_fails_with_a_reason) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto b = n.spawn("echo").value();
  BOOST_TEST(connect_to(a, a).find("invalid_argument") != std::string::npos, connect_to(a, a));
  b.kill();
  BOOST_REQUIRE(b.join(patience));
  BOOST_TEST(connect_to(a, b).find("unknown_actor") != std::string::npos, connect_to(a, b));
  BOOST_TEST(echo_through_works(a));
}
