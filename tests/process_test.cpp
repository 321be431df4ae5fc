// Spawning and process hygiene: both start methods, exit reasons of every kind
// of death, inherited descriptors, zombies, descriptor leaks, orphans.
// Longer than 450 lines on purpose: one suite per concept, so that `--run_test`
// and ctest's labels select a concept; its cases share this file's fixtures.
#define BOOST_TEST_MODULE process
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include "helpers.hpp"

#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

using namespace actorproc;
using test_actors::table;

namespace {

std::set<int> fds_of(const message<testing::Identity>& id) {
  std::set<int> fds;
  for (int fd : id.getOpenFds()) fds.insert(fd);
  return fds;
}

exit_reason crash_with(node& n, testing::Crash::How how) {
  auto a = n.spawn("echo").value();
  BOOST_REQUIRE(a.send<testing::Crash>([&](testing::Crash::Builder b) { b.setHow(how); }));
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  return *reason;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_zygote_started_actor_is_a_child_of_the_node_with_its_name_and_args) {
  node n{table()};
  auto a = n.spawn("echo", {.name = "first", .args = {"0", "two"}}).value();
  auto id = a.request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(id);
  BOOST_TEST(id->getPid() == a.pid());
  BOOST_TEST(id->getPpid() == ::getpid());  // reaped by the node, not by the zygote
  BOOST_TEST(a.pid() != n.zygote_pid());
  BOOST_TEST(std::string(id->getName()) == "first");
  BOOST_TEST(id->getId() == a.id());
  BOOST_REQUIRE(id->getArgs().size() == 2u);
  BOOST_TEST(std::string(id->getArgs()[1]) == "two");
}

BOOST_AUTO_TEST_CASE(an_exec_started_actor_runs_the_same_program_afresh) {
  node n{table()};
  auto a = n.spawn("echo", {.name = "fresh", .args = {"0", "x y"}, .method = start_method::exec}).value();
  auto id = a.request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(id);
  BOOST_TEST(id->getPpid() == ::getpid());
  BOOST_TEST(std::string(id->getName()) == "fresh");
  BOOST_REQUIRE(id->getArgs().size() == 2u);
  BOOST_TEST(std::string(id->getArgs()[1]) == "x y");
  char exe[4096] = {};
  std::string link = "/proc/" + std::to_string(a.pid()) + "/exe";
  BOOST_TEST(::readlink(link.c_str(), exe, sizeof exe - 1) > 0);
}

BOOST_AUTO_TEST_CASE(an_exec_started_actor_can_be_another_binary) {
  node n{table()};
  auto a = n.spawn("greeter", {.method = start_method::exec, .program = OTHER_WORKER_PATH}).value();
  auto reply = a.request<testing::Echo, testing::Echo>([](testing::Echo::Builder b) { b.setText("hi"); }, patience);
  BOOST_REQUIRE(reply);
  BOOST_TEST(std::string(reply->getText()) == "greeter says: hi");
}

BOOST_AUTO_TEST_CASE(a_missing_binary_fails_the_spawn_with_launch_failed_and_the_errno) {
  node n{table()};
  auto a = n.spawn("echo", {.method = start_method::exec, .program = "/nonexistent/worker"});
  BOOST_REQUIRE(!a);
  BOOST_TEST((a.error().code == errc::launch_failed));
  BOOST_TEST(a.error().message.find("No such file") != std::string::npos);
  BOOST_TEST(test_helpers::children_of_self() == std::set<pid_t>{n.zygote_pid()});  // the failed child was reaped
}

BOOST_AUTO_TEST_CASE(an_unknown_actor_type_is_an_invalid_argument) {
  node n{table()};
  auto a = n.spawn("no-such-type");
  BOOST_REQUIRE(!a);
  BOOST_TEST((a.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(a_constructor_that_throws_fails_the_spawn_with_its_message) {
  node n{table()};
  for (auto method : {start_method::zygote, start_method::exec}) {
    auto a = n.spawn("broken", {.method = method});
    BOOST_REQUIRE(!a);
    BOOST_TEST((a.error().code == errc::launch_failed));
    BOOST_REQUIRE(a.error().reason);
    BOOST_TEST((a.error().reason->what == exit_reason::kind::launch_failed));
    BOOST_TEST(a.error().reason->detail.find("cannot build this actor") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(each_kind_of_death_is_reported_with_its_own_reason) {
  node n{table()};
  auto segv = crash_with(n, testing::Crash::How::SEGFAULT);
  BOOST_TEST((segv.what == exit_reason::kind::signal));
  BOOST_TEST(segv.signal == SIGSEGV);

  auto abrt = crash_with(n, testing::Crash::How::ABORT);
  BOOST_TEST((abrt.what == exit_reason::kind::signal));
  BOOST_TEST(abrt.signal == SIGABRT);

  auto exit3 = crash_with(n, testing::Crash::How::EXIT3);
  BOOST_TEST((exit3.what == exit_reason::kind::exit_code));
  BOOST_TEST(exit3.code == 3);

  auto thrown = crash_with(n, testing::Crash::How::THROW_EXCEPTION);
  BOOST_TEST((thrown.what == exit_reason::kind::exception));
  BOOST_TEST(thrown.detail == "boom in the handler");

  auto a = n.spawn("echo").value();
  BOOST_TEST(a.kill());
  auto killed = a.join(patience);
  BOOST_REQUIRE(killed);
  BOOST_TEST((killed->what == exit_reason::kind::signal));
  BOOST_TEST(killed->signal == SIGKILL);
  BOOST_TEST(!a.kill());  // an exited actor is never signalled again
  BOOST_TEST(n.size() == 0u);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// ASan's and TSan's operator new report a refused allocation and exit; they never throw.
constexpr bool operator_new_throws = false;
#else
constexpr bool operator_new_throws = true;
#endif

BOOST_AUTO_TEST_CASE(an_allocation_the_kernel_refuses_in_a_handler_ends_the_actor_with_oom,
                     *boost::unit_test::enable_if<operator_new_throws>()) {
  node n{table()};
  auto a = n.spawn("echo").value();
  auto answer = a.request<testing::Crash, testing::Echo>(
      [](testing::Crash::Builder b) { b.setHow(testing::Crash::How::RUN_OUT_OF_MEMORY); });
  BOOST_REQUIRE(!answer);
  BOOST_TEST((answer.error().code == errc::handler_exception));
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::oom), to_string(*reason));
  BOOST_TEST(reason->detail.find("RLIMIT_AS") != std::string::npos, reason->detail);
  BOOST_TEST(to_string(*reason).starts_with("out of memory: "));
}

BOOST_AUTO_TEST_CASE(a_stopped_actor_exits_normal_and_the_node_shutdown_reason_is_shutdown) {
  exit_reason at_shutdown;
  {
    node n{table()};
    auto a = n.spawn("echo").value();
    a.stop();
    auto reason = a.join(patience);
    BOOST_REQUIRE(reason);
    BOOST_TEST((reason->what == exit_reason::kind::normal));
    auto b = n.spawn("echo").value();
    b.monitor([&](actor_ref, const exit_reason& why) { at_shutdown = why; });
  }
  BOOST_TEST((at_shutdown.what == exit_reason::kind::shutdown));
}

BOOST_AUTO_TEST_CASE(the_stop_ladder_ends_with_sigkill_for_an_actor_that_ignores_everything) {
  node n{table()};
  auto a = n.spawn("echo").value();
  BOOST_REQUIRE(
      a.send<testing::Crash>([](testing::Crash::Builder b) { b.setHow(testing::Crash::How::IGNORE_TERM_AND_HANG); }));
  // The handler is now stuck with SIGTERM ignored; the stop message is never read.
  a.stop(100ms);
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::signal));
  BOOST_TEST(reason->signal == SIGKILL);
}

BOOST_AUTO_TEST_CASE(a_child_inherits_only_stdio_and_its_mailbox) {
  node n{table()};
  for (auto method : {start_method::zygote, start_method::exec}) {
    auto a = n.spawn("echo", {.method = method}).value();
    auto id = a.request<testing::WhoAmI, testing::Identity>({}, patience);
    BOOST_REQUIRE(id);
    auto fds = fds_of(*id);
    BOOST_TEST(fds.size() == 4u);  // 0, 1, 2 and the mailbox
    BOOST_TEST(fds.count(0) + fds.count(1) + fds.count(2) == 3u);
  }
}

BOOST_AUTO_TEST_CASE(descriptors_given_at_spawn_are_inherited_and_nothing_else) {
  node n{table()};
  int pipe_fds[2];
  BOOST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  unique_fd keep_read_end(pipe_fds[0]);
  spawn_options options;
  options.fds.emplace_back(pipe_fds[1]);
  auto a = n.spawn("echo", std::move(options)).value();
  auto id = a.request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(id);
  BOOST_TEST(fds_of(*id).size() == 5u);
}

BOOST_AUTO_TEST_CASE(five_hundred_spawns_leave_no_descriptor_and_no_zombie_behind) {
  node n{table()};
  auto warm_up = n.spawn("echo").value();  // whatever the first spawn allocates once
  warm_up.stop();
  BOOST_REQUIRE(warm_up.join(patience));
  auto fds_before = test_helpers::open_fds();
  std::vector<pid_t> pids;
  for (int i = 0; i < 500; ++i) {
    auto a = n.spawn("echo", {.method = i % 50 == 0 ? start_method::exec : start_method::zygote});
    BOOST_REQUIRE(a);
    pids.push_back(a->pid());
    if (i % 2 == 0) {
      a->stop();
    } else {
      a->kill();
    }
    BOOST_REQUIRE(a->join(patience));
  }
  BOOST_TEST(test_helpers::fds_opened_since(fds_before) == "");
  BOOST_TEST(test_helpers::children_of_self() == std::set<pid_t>{n.zygote_pid()});
  for (pid_t pid : {pids.front(), pids[250], pids.back()}) BOOST_TEST(test_helpers::process_state(pid) != 'Z');
}

BOOST_AUTO_TEST_CASE(no_actor_outlives_a_node_that_is_sigkilled) {
  // orphan_node starts a node with three actors, prints their pids, and waits.
  int out[2];
  BOOST_REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  char* argv[] = {const_cast<char*>(ORPHAN_NODE_PATH), nullptr};
  pid_t node_pid;
  BOOST_REQUIRE(::posix_spawn(&node_pid, ORPHAN_NODE_PATH, &actions, nullptr, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);

  FILE* in = ::fdopen(out[0], "r");
  std::vector<pid_t> pids;
  char word[32];
  int pid;
  while (std::fscanf(in, "%31s %d", word, &pid) == 2) {
    if (std::string(word) == "ready") break;
    pids.push_back(pid);
  }
  BOOST_REQUIRE(pids.size() == 4u);  // the zygote and three actors
  for (pid_t p : pids) BOOST_REQUIRE(test_helpers::process_state(p) != 0);

  ::kill(node_pid, SIGKILL);
  int status;
  BOOST_REQUIRE(::waitpid(node_pid, &status, 0) == node_pid);
  for (pid_t p : pids) BOOST_TEST(test_helpers::wait_gone(p, patience));
  std::fclose(in);
}

BOOST_AUTO_TEST_CASE(heartbeats_spare_a_busy_actor_and_catch_a_frozen_one_as_hung) {
  node n{table()};
  auto a = n.spawn("echo", {.heartbeat = {.interval = 20ms, .timeout = 2000ms}}).value();
  // A 100 ms handler spans five heartbeat intervals but answers well within the timeout.
  auto rested = a.request<testing::Nap, testing::Echo>([](testing::Nap::Builder b) { b.setMillis(100); }, patience);
  BOOST_REQUIRE(rested);
  BOOST_TEST(a.alive());

  BOOST_REQUIRE(a.signal(SIGSTOP));  // frozen: alive to the kernel, silent to the node
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::hung), to_string(*reason));
}

BOOST_AUTO_TEST_CASE(heartbeats_catch_a_handler_stuck_far_beyond_its_timeout) {
  node n{table()};
  auto a = n.spawn("echo", {.heartbeat = {.interval = 20ms, .timeout = 200ms}}).value();
  // The handler naps for a minute: the process runs, but the actor is unresponsive.
  BOOST_REQUIRE(a.send<testing::Nap>([](testing::Nap::Builder b) { b.setMillis(60000); }));
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::hung), to_string(*reason));
}

namespace {

std::string ask_text(const actor_handle& a) {
  auto r = a.request<testing::Echo, testing::Echo>([](testing::Echo::Builder b) { b.setText("?"); }, patience);
  return r ? std::string(r->getText()) : "error: " + to_string(r.error());
}

uint64_t fired_count(const std::string& text) {
  auto at = text.rfind("fired ");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + 6));
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_actor_object_is_built_in_place_so_a_this_its_constructor_captured_stays_valid) {
  node n{table()};
  auto a = n.spawn("self_timer").value();
  std::string text;
  BOOST_TEST(eventually([&] {
    text = ask_text(a);
    return fired_count(text) == 1;
  }), text);
  BOOST_TEST(text == "in place, fired 1");
}

BOOST_AUTO_TEST_CASE(a_timer_that_rearms_itself_at_once_still_lets_requests_heartbeats_and_a_stop_through) {
  node n{table()};
  auto a = n.spawn("busy_timer", {.heartbeat = {.interval = 20ms, .timeout = 200ms}}).value();
  // Requests are answered while the timer keeps running between them, for
  // five heartbeat timeouts: a starved heartbeat would have killed it as hung.
  uint64_t last = 0;
  int answered = 0;
  for (auto until = std::chrono::steady_clock::now() + 5 * 200ms; std::chrono::steady_clock::now() < until;) {
    std::string text = ask_text(a);
    BOOST_REQUIRE_MESSAGE(text.starts_with("fired "), text);
    uint64_t fired = fired_count(text);
    BOOST_REQUIRE(fired >= last);
    last = fired;
    ++answered;
  }
  BOOST_TEST(answered > 1);
  BOOST_TEST(last > 0u);
  BOOST_TEST(a.alive());
  // The stop message is handled: a clean exit long before SIGTERM's turn.
  a.stop(10s);
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::normal), to_string(*reason));
}

BOOST_AUTO_TEST_CASE(a_stop_goes_ahead_of_a_backlog_of_user_messages) {
  node n{table()};
  // 5 ms per Tick: a node-side mailbox of Ticks is seconds of work. The actor
  // is frozen while the mailbox fills, so the backlog is the mailbox and its
  // socket (a live actor would take more in, up to the 2 MiB it looks behind).
  auto a = n.spawn("echo", {.args = {"5"}}).value();
  BOOST_REQUIRE(a.signal(SIGSTOP));
  int queued = 0;
  while (a.send<testing::Tick>({}, 0ms)) ++queued;  // until the node's mailbox is full
  BOOST_TEST(queued > 1000);
  BOOST_REQUIRE(a.signal(SIGCONT));
  // With the stop behind the backlog, it would be handled only after about
  // queued * 5 ms, long after the grace: SIGTERM would end the actor instead.
  a.stop(2s);
  auto reason = a.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::normal), to_string(*reason));
}

BOOST_AUTO_TEST_CASE(every_worker_starts_with_default_signal_dispositions_and_an_empty_mask) {
  // What a host such as Boost.Test does before the node exists: handlers
  // installed, signals ignored, signals blocked. No worker may inherit any of it.
  const std::vector<int> handled{SIGSEGV, SIGUSR1, SIGTERM}, ignored{SIGINT, SIGPIPE}, blocked{SIGUSR2, SIGTERM, SIGHUP};
  std::vector<int> asked{SIGSEGV, SIGUSR1, SIGTERM, SIGINT, SIGPIPE, SIGUSR2, SIGHUP};
  std::vector<struct sigaction> saved(asked.size());
  for (std::size_t i = 0; i < asked.size(); ++i) ::sigaction(asked[i], nullptr, &saved[i]);
  struct sigaction handler {}, ignore {};
  handler.sa_handler = [](int) {};
  ignore.sa_handler = SIG_IGN;
  for (int s : handled) ::sigaction(s, &handler, nullptr);
  for (int s : ignored) ::sigaction(s, &ignore, nullptr);
  sigset_t block, old_mask;
  sigemptyset(&block);
  for (int s : blocked) sigaddset(&block, s);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);

  std::vector<std::string> found;
  {
    node n{table()};  // the zygote is forked now, with all of the above
    for (auto method : {start_method::zygote, start_method::exec}) {
      auto a = n.spawn("signal_reporter", {.method = method}).value();
      auto report = a.request<testing::SignalQuery, testing::SignalReport>(
          [&](testing::SignalQuery::Builder q) {
            auto list = q.initSignals(static_cast<unsigned>(asked.size()));
            for (unsigned i = 0; i < asked.size(); ++i) list.set(i, asked[i]);
          },
          patience);
      BOOST_REQUIRE(report);
      std::string how = method == start_method::zygote ? "zygote" : "exec";
      for (unsigned i = 0; i < asked.size(); ++i) {
        if (report->getDispositions()[i] != testing::SignalReport::Disposition::DEFAULT) {
          found.push_back(how + ": signal " + std::to_string(asked[i]) + " not SIG_DFL");
        }
        if (report->getBlocked()[i]) found.push_back(how + ": signal " + std::to_string(asked[i]) + " blocked");
      }
    }
    // The zygote itself, now that it has served requests (so it is past its
    // own set-up): nothing blocked, ignored or caught (/proc's bit masks,
    // bit s - 1 for signal s), but for glibc's own signals between 31 and SIGRTMIN.
    uint64_t glibc_own = 0;
    for (int s = 32; s < SIGRTMIN; ++s) glibc_own |= uint64_t{1} << (s - 1);
    std::ifstream status("/proc/" + std::to_string(n.zygote_pid()) + "/status");
    for (std::string line; std::getline(status, line);) {
      for (std::string field : {"SigBlk:", "SigIgn:", "SigCgt:"}) {
        if (line.starts_with(field) && (std::stoull(line.substr(field.size()), nullptr, 16) & ~glibc_own) != 0) {
          found.push_back("zygote: " + line);
        }
      }
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  for (std::size_t i = 0; i < asked.size(); ++i) ::sigaction(asked[i], &saved[i], nullptr);
  BOOST_TEST(found.empty(), [&] {
    std::string all;
    for (auto& f : found) all += f + "; ";
    return all;
  }());
}

BOOST_AUTO_TEST_CASE(a_program_that_forgets_run_if_worker_fails_the_exec_spawn_and_never_recurses) {
  // Its exec'd worker re-runs main() and constructs a node: that must fail the
  // parent's spawn at once, with the reason, and start nothing.
  auto run = run_command({FORGETS_RUN_IF_WORKER_PATH}, {.timeout = patience});
  BOOST_REQUIRE_MESSAGE(run, (run ? "" : to_string(run.error())));
  BOOST_TEST(run->returncode() == 3, run->out + run->err);
  BOOST_TEST(run->out.find("launch_failed") != std::string::npos, run->out);
  BOOST_TEST(run->out.find("run_if_worker") != std::string::npos, run->out);
  // One line: no second copy of main() got as far as printing.
  BOOST_TEST(std::count(run->out.begin(), run->out.end(), '\n') == 1, run->out);
}

BOOST_AUTO_TEST_CASE(a_node_constructed_while_other_threads_run_is_refused_unless_allowed) {
  // Another thread, waiting until the end of the test (or of its patience).
  struct other_thread {
    std::mutex mutex;
    std::condition_variable changed;
    bool done = false;
    std::thread thread{[this] {
      std::unique_lock lock(mutex);
      changed.wait_for(lock, patience, [&] { return done; });
    }};
    void finish() {
      {
        std::lock_guard lock(mutex);
        done = true;
      }
      changed.notify_all();
      if (thread.joinable()) thread.join();
    }
    ~other_thread() { finish(); }
  } other;

  std::string refused;
  try {
    node n{table()};
  } catch (const std::logic_error& e) {
    refused = e.what();
  }
  BOOST_TEST(refused.find("thread") != std::string::npos, refused);
  BOOST_TEST(refused.find("allow_other_threads") != std::string::npos, refused);
  {
    std::vector<std::string> logged;
    node_options options;
    options.log = [&](const std::string& line) { logged.push_back(line); };
    options.allow_other_threads = true;
    node n{table(), std::move(options)};
    BOOST_REQUIRE(logged.size() == 1u);
    BOOST_TEST(logged[0].find("thread") != std::string::npos, logged[0]);
    BOOST_TEST(n.spawn("echo").has_value());  // the opt-out works as before
  }
  other.finish();
  node alone{table()};  // single-threaded again: no complaint
  BOOST_TEST(alone.spawn("echo").has_value());
}
