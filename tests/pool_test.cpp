// The process pool: Python's Pool and ProcessPoolExecutor operations, their
// error paths, and crashes under load (nothing lost, nothing resolved twice).
// Longer than 450 lines on purpose: one suite per concept, so that `--run_test`
// and ctest's labels select a concept; its cases share this file's fixtures.
#define BOOST_TEST_MODULE pool
#define BOOST_TEST_NO_MAIN
#include "helpers.hpp"
#include "test_main.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <ranges>
#include <set>

using namespace actorproc;
using test_actors::table;
using testing::Work;
using testing::WorkResult;

namespace {

// A temporary directory for FIFOs and marker files, removed at the end.
struct scratch {
  std::filesystem::path dir;
  scratch() {
    char pattern[] = "/tmp/actorproc-pool-XXXXXX";
    dir = ::mkdtemp(pattern);
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

// A task waits at the gate (a FIFO) until the test opens it: an event, not a
// delay. The test holds the FIFO open read-write, so a worker's open() never
// blocks and its read() returns when open_once() writes a byte.
struct gate {
  std::string path;
  int fd = -1;
  explicit gate(const scratch& s, const std::string& name = "gate") : path(s.file(name)) {
    BOOST_REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    BOOST_REQUIRE(fd >= 0);
  }
  ~gate() { ::close(fd); }
  void open_once() { BOOST_REQUIRE(::write(fd, "x", 1) == 1); }
};

auto square(int64_t x) {
  return [x](Work::Builder b) { b.setX(x); };
}
auto gated(const gate& g, int64_t x) {
  return [&g, x](Work::Builder b) {
    b.setX(x);
    b.setGate(g.path);
  };
}
auto with_action(int64_t x, Work::Action action, std::string marker = {}) {
  return [=](Work::Builder b) {
    b.setX(x);
    b.setAction(action);
    b.setMarker(marker);
  };
}
void fill_x(Work::Builder b, int64_t x) { b.setX(x); }

// x * x computed by the pool, or -1 if the task failed.
int64_t squared_by(pool& p, int64_t x) {
  auto r = p.apply<Work, WorkResult>(square(x), patience);
  return r ? r->getValue() : -1;
}

std::set<pid_t> pids_of(const pool& p) {
  std::set<pid_t> pids;
  for (auto& w : p.workers()) pids.insert(w.pid());
  return pids;
}

// Counts events from done-callbacks; waits are bounded.
struct counter {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t value = 0;
  void bump() {
    {
      std::lock_guard lock(mutex);
      ++value;
    }
    changed.notify_all();
  }
  bool wait_for(std::size_t at_least) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, patience, [&] { return value >= at_least; });
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(apply_and_map_reuse_the_same_workers) {
  node n{table()};
  auto p = pool::start(n, {.processes = 3}).value();
  auto workers = pids_of(p);
  BOOST_TEST(workers.size() == 3u);

  auto one = p.apply<Work, WorkResult>(square(7), patience);
  BOOST_REQUIRE(one);
  BOOST_TEST(one->getValue() == 49);

  std::vector<int64_t> inputs(100);
  std::iota(inputs.begin(), inputs.end(), 0);
  auto all = p.map<Work, WorkResult>(inputs, fill_x, {.chunksize = 7, .timeout = patience});
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 100u);
  std::set<pid_t> used;
  for (int64_t i = 0; i < 100; ++i) {
    BOOST_TEST((*all)[i].getValue() == i * i);
    used.insert((*all)[i].getPid());
  }
  for (pid_t pid : used) BOOST_TEST(workers.count(pid) == 1u);  // no worker but the pool's three
  BOOST_TEST(p.stats().completed == 101u);

  auto empty = p.map<Work, WorkResult>(std::vector<int64_t>{}, fill_x);
  BOOST_REQUIRE(empty);
  BOOST_TEST(empty->empty());

  auto pairs = std::vector<std::tuple<int64_t, Work::Action>>{{3, Work::Action::NONE}, {4, Work::Action::NONE}};
  auto star = p.starmap<Work, WorkResult>(pairs, [](Work::Builder b, int64_t x, Work::Action a) {
    b.setX(x);
    b.setAction(a);
  });
  BOOST_REQUIRE(star);
  BOOST_TEST((*star)[0].getValue() == 9);
  BOOST_TEST((*star)[1].getValue() == 16);
}

BOOST_AUTO_TEST_CASE(apply_async_callbacks_and_a_throwing_task) {
  node n{table()};
  auto p = pool::start(n, {.processes = 2}).value();
  counter done;
  std::mutex mutex;
  std::vector<int64_t> values;
  std::vector<error> errors;
  for (int64_t x = 1; x <= 4; ++x) {
    p.apply_async<Work, WorkResult>(
        square(x),
        [&](const pool_result<WorkResult>& r) {
          {
            std::lock_guard lock(mutex);
            values.push_back(r.getValue());
          }
          done.bump();
        },
        [&](const error&) { done.bump(); });
  }
  p.apply_async<Work, WorkResult>(
      with_action(5, Work::Action::THROW_EXCEPTION), [&](const pool_result<WorkResult>&) { done.bump(); },
      [&](const error& e) {
        {
          std::lock_guard lock(mutex);
          errors.push_back(e);
        }
        done.bump();
      });
  BOOST_REQUIRE(done.wait_for(5));
  std::lock_guard lock(mutex);
  std::sort(values.begin(), values.end());
  BOOST_TEST((values == std::vector<int64_t>{1, 4, 9, 16}));
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST((errors[0].code == errc::handler_exception));
  BOOST_TEST(errors[0].message.find("task 5 refused") != std::string::npos);
  // A task's exception is not its worker's death.
  BOOST_TEST(p.stats().workers_lost == 0u);
  BOOST_TEST(squared_by(p, 6) == 36);
}

BOOST_AUTO_TEST_CASE(imap_reads_its_input_lazily_in_order) {
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 2, .window = 2}).value();
  std::atomic<int64_t> produced{0};
  auto fill = [&](Work::Builder b, int64_t x) {
    ++produced;
    b.setX(x);
    if (x == 0) b.setGate(g.path);
  };
  auto results = p.imap<Work, WorkResult>(std::views::iota(int64_t{0}, int64_t{1000000}), fill);
  // The first result waits at the gate: next() times out, and can be called again.
  auto early = results.next(50ms);
  BOOST_REQUIRE(!early);
  BOOST_TEST((early.error().code == errc::timeout));
  BOOST_TEST(produced.load() <= 2);  // the window, not the million inputs
  g.open_once();
  for (int64_t i = 0; i < 50; ++i) {
    auto r = results.next(patience);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->getValue() == i * i);
  }
  BOOST_TEST(produced.load() <= 52);
}

BOOST_AUTO_TEST_CASE(imap_unordered_gives_results_as_they_complete) {
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 2}).value();
  auto fill = [&](Work::Builder b, int64_t x) {
    b.setX(x);
    if (x == 0) b.setGate(g.path);
  };
  auto results = p.imap_unordered<Work, WorkResult>(std::vector<int64_t>{0, 1, 2, 3}, fill);
  std::multiset<int64_t> seen;
  for (int i = 0; i < 3; ++i) {  // 0 waits at the gate: the other three come first
    auto r = results.next(patience);
    BOOST_REQUIRE(r);
    seen.insert(r->getValue());
  }
  BOOST_TEST((seen == std::multiset<int64_t>{1, 4, 9}));
  g.open_once();
  auto last = results.next(patience);
  BOOST_REQUIRE(last);
  BOOST_TEST(last->getValue() == 0);
  auto end = results.next(patience);
  BOOST_REQUIRE(!end);
  BOOST_TEST((end.error().code == errc::end_of_stream));
}

BOOST_AUTO_TEST_CASE(futures_wait_get_cancel_and_done_callbacks) {
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 1}).value();
  auto running = p.submit<Work, WorkResult>(gated(g, 2));
  auto queued = p.submit<Work, WorkResult>(square(3));
  BOOST_TEST(!running.ready());
  BOOST_TEST(!running.wait(20ms));
  auto early = running.get(20ms);
  BOOST_REQUIRE(!early);
  BOOST_TEST((early.error().code == errc::timeout));

  BOOST_TEST(queued.cancel());  // not started: the only worker waits at the gate
  BOOST_TEST(queued.cancelled());
  auto gone = queued.get(patience);
  BOOST_REQUIRE(!gone);
  BOOST_TEST((gone.error().code == errc::cancelled));

  g.open_once();
  auto value = running.get(patience);
  BOOST_REQUIRE(value);
  BOOST_TEST(value->getValue() == 4);
  BOOST_TEST(running.successful());
  BOOST_TEST(!running.cancel());  // finished: too late
  int calls = 0;
  running.on_done([&](const expected<pool_result<WorkResult>>& r) { calls += r ? 1 : 100; });
  BOOST_TEST(calls == 1);  // already resolved: called at once
  BOOST_TEST(p.stats().completed == 1u);
}

BOOST_AUTO_TEST_CASE(as_completed_yields_in_completion_order) {
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 2}).value();
  std::vector<pool_future<WorkResult>> futures{p.submit<Work, WorkResult>(gated(g, 5)),
                                               p.submit<Work, WorkResult>(square(6))};
  auto done = as_completed(futures);
  auto first = done.next(patience);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->get(0ms)->getValue() == 36);
  g.open_once();
  auto second = done.next(patience);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->get(0ms)->getValue() == 25);
  BOOST_TEST(done.remaining() == 0u);
  BOOST_TEST((done.next(patience).error().code == errc::end_of_stream));
}

BOOST_AUTO_TEST_CASE(map_async_resolves_with_every_result_or_the_first_error) {
  node n{table()};
  auto p = pool::start(n, {.processes = 2}).value();
  auto all = p.map_async<Work, WorkResult>(std::vector<int64_t>{1, 2, 3, 4, 5}, fill_x, 2);
  auto values = all.get(patience);
  BOOST_REQUIRE(values);
  BOOST_REQUIRE(values->size() == 5u);
  BOOST_TEST((*values)[4].getValue() == 25);

  auto fill = [](Work::Builder b, int64_t x) {
    b.setX(x);
    if (x == 3) b.setAction(Work::Action::THROW_EXCEPTION);
  };
  auto failing = p.map_async<Work, WorkResult>(std::vector<int64_t>{1, 2, 3, 4}, fill);
  auto outcome = failing.get(patience);
  BOOST_REQUIRE(!outcome);
  BOOST_TEST((outcome.error().code == errc::handler_exception));
  auto mapped = p.map<Work, WorkResult>(std::vector<int64_t>{1, 2, 3, 4}, fill, {.chunksize = 1, .timeout = patience});
  BOOST_REQUIRE(!mapped);
  BOOST_TEST(mapped.error().message.find("task 3 refused") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(close_join_and_terminate_follow_pythons_rules) {
  auto fds_before = test_helpers::open_fds();
  {
    node n{table()};
    auto fds_with_node = test_helpers::open_fds();
    {
      auto p = pool::start(n, {.processes = 2}).value();
      auto early = p.join(patience);
      BOOST_REQUIRE(!early);
      BOOST_TEST((early.error().code == errc::invalid_argument));

      auto queued = p.map_async<Work, WorkResult>(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, fill_x);
      p.close();
      auto refused = p.submit<Work, WorkResult>(square(1)).get(patience);
      BOOST_REQUIRE(!refused);
      BOOST_TEST((refused.error().code == errc::pool_closed));
      auto pids = pids_of(p);
      BOOST_REQUIRE(p.join(patience));
      BOOST_TEST(queued.ready());  // what was queued before close() still ran
      BOOST_TEST(queued.successful());
      for (pid_t pid : pids) BOOST_TEST(test_helpers::process_state(pid) == 0);  // exited and reaped
    }
    {
      scratch s;
      gate g(s);
      auto p = pool::start(n, {.processes = 1}).value();
      std::vector<pool_future<WorkResult>> futures{p.submit<Work, WorkResult>(gated(g, 1))};
      for (int64_t x = 2; x <= 4; ++x) futures.push_back(p.submit<Work, WorkResult>(square(x)));
      p.terminate();
      BOOST_REQUIRE(p.join(patience));
      for (auto& f : futures) {
        auto r = f.get(patience);
        BOOST_REQUIRE(!r);
        BOOST_TEST((r.error().code == errc::cancelled));
      }
      BOOST_TEST(squared_by(p, 1) == -1);
    }
    BOOST_TEST(n.size() == 0u);
    BOOST_TEST(test_helpers::fds_opened_since(fds_with_node) == "");
  }
  BOOST_TEST(test_helpers::fds_opened_since(fds_before) == "");
}

BOOST_AUTO_TEST_CASE(shutdown_with_cancel_futures_cancels_only_what_has_not_started) {
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 1}).value();
  auto running = p.submit<Work, WorkResult>(gated(g, 3));
  BOOST_REQUIRE(eventually([&] { return p.stats().running == 1; }));
  auto queued = p.submit<Work, WorkResult>(square(4));
  BOOST_REQUIRE(p.shutdown(false, true));  // does not wait: the gate is still shut
  auto cancelled = queued.get(patience);
  BOOST_REQUIRE(!cancelled);
  BOOST_TEST((cancelled.error().code == errc::cancelled));
  g.open_once();
  BOOST_TEST(running.get(patience)->getValue() == 9);  // running: it finished
  BOOST_REQUIRE(p.join(patience));
}

BOOST_AUTO_TEST_CASE(maxtasksperchild_retires_workers) {
  node n{table()};
  auto p = pool::start(n, {.processes = 1, .maxtasksperchild = 2}).value();
  std::vector<int64_t> inputs(10);
  std::iota(inputs.begin(), inputs.end(), 0);
  auto all = p.map<Work, WorkResult>(inputs, fill_x, {.chunksize = 1, .timeout = patience});
  BOOST_REQUIRE(all);
  std::map<pid_t, int> tasks_per_pid;
  for (auto& r : *all) ++tasks_per_pid[r.getPid()];
  BOOST_TEST(tasks_per_pid.size() == 5u);
  for (auto& [pid, count] : tasks_per_pid) BOOST_TEST(count == 2);
  BOOST_TEST(p.stats().workers_lost == 0u);  // retired, not lost
}

BOOST_AUTO_TEST_CASE(the_initializer_runs_in_each_worker_and_its_failure_is_reported) {
  node n{table()};
  {
    auto p = pool::start(n, {.processes = 2, .initargs = {"hello"}}).value();
    auto r = p.apply<Work, WorkResult>(square(2), patience);
    BOOST_REQUIRE(r);
    BOOST_TEST(std::string(r->getInit()) == "hello");
  }
  auto refused = pool::start(n, {.processes = 2, .initargs = {"fail"}});
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == errc::launch_failed));
  BOOST_TEST(refused.error().message.find("initializer refused") != std::string::npos, refused.error().message);
}

BOOST_AUTO_TEST_CASE(a_task_that_kills_its_worker_is_retried_then_fails_with_the_reason) {
  node n{table()};
  scratch s;
  auto p = pool::start(n, {.processes = 2, .max_retries = 2}).value();
  auto poison = p.apply<Work, WorkResult>(with_action(1, Work::Action::SEGFAULT), patience);
  BOOST_REQUIRE(!poison);
  BOOST_TEST((poison.error().code == errc::actor_down));
  BOOST_REQUIRE(poison.error().reason.has_value());
  BOOST_TEST(poison.error().reason->signal == SIGSEGV);
  BOOST_TEST(p.stats().retried == 2u);
  BOOST_TEST(p.stats().workers_lost == 3u);

  // Crashes once, then succeeds on a fresh worker.
  auto once = p.apply<Work, WorkResult>(with_action(3, Work::Action::SEGFAULT_ONCE, s.file("marker")), patience);
  BOOST_REQUIRE(once);
  BOOST_TEST(once->getValue() == 9);
  BOOST_TEST(p.stats().retried == 3u);
  // The pool is not poisoned: it still has its workers and runs tasks.
  BOOST_TEST(squared_by(p, 4) == 16);
  BOOST_TEST(p.stats().workers == 2u);

  auto unknown = p.apply<testing::Echo, WorkResult>([](testing::Echo::Builder b) { b.setText("?"); }, patience);
  BOOST_REQUIRE(!unknown);
  BOOST_TEST((unknown.error().code == errc::unhandled_message));
}

BOOST_AUTO_TEST_CASE(a_pool_whose_workers_cannot_restart_is_broken_not_hung) {
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 1, .initargs = {"fail-after", s.file("started")}}).value();
  std::vector<pool_future<WorkResult>> futures{p.submit<Work, WorkResult>(gated(g, 1)),
                                               p.submit<Work, WorkResult>(square(2))};
  auto workers = p.workers();
  BOOST_REQUIRE(workers.size() == 1u);
  workers[0].kill();
  for (auto& f : futures) {
    auto r = f.get(patience);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == errc::broken), to_string(r.error()));
    BOOST_TEST(r.error().message.find("initializer refused") != std::string::npos, r.error().message);
  }
  BOOST_TEST((p.submit<Work, WorkResult>(square(3)).get(patience).error().code == errc::broken));
}

BOOST_AUTO_TEST_CASE(submit_waits_for_room_then_fails_with_queue_full) {
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 1, .max_queued = 2, .submit_timeout = 50ms}).value();
  auto running = p.submit<Work, WorkResult>(gated(g, 1));
  // Wait until the gated task is on the worker, so the queue holds exactly what follows.
  BOOST_REQUIRE(eventually([&] { return p.stats().running == 1; }));
  auto a = p.submit<Work, WorkResult>(square(2));
  auto b = p.submit<Work, WorkResult>(square(3));
  auto refused = p.submit<Work, WorkResult>(square(4)).get(patience);
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == errc::queue_full));
  g.open_once();
  BOOST_TEST(b.get(patience)->getValue() == 9);
  BOOST_TEST(a.get(patience)->getValue() == 4);
}

// Kill workers in the middle of a large job: every task resolves exactly once,
// with the right value.
BOOST_AUTO_TEST_CASE(killing_workers_under_load_loses_nothing_and_resolves_once) {
  node n{table()};
  auto p = pool::start(n, {.processes = 3, .max_retries = 1000}).value();
  constexpr int64_t tasks = 3000;
  counter resolved;
  std::vector<std::atomic<int>> resolutions(tasks);
  std::vector<pool_future<WorkResult>> futures;
  for (int64_t x = 0; x < tasks; ++x) {
    futures.push_back(p.submit<Work, WorkResult>(square(x)));
    futures.back().on_done([&, x](const auto&) {
      ++resolutions[x];
      resolved.bump();
    });
  }
  int kills = 0;
  for (std::size_t at = 300; at < tasks; at += 300) {
    BOOST_REQUIRE(resolved.wait_for(at));
    auto workers = p.workers();
    if (!workers.empty() && workers[at % workers.size()].kill()) ++kills;
  }
  for (int64_t x = 0; x < tasks; ++x) {
    auto r = futures[x].get(patience);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->getValue() == x * x);
  }
  BOOST_REQUIRE(resolved.wait_for(tasks));
  for (auto& count : resolutions) BOOST_TEST(count.load() == 1);
  BOOST_TEST(kills >= 5);
  BOOST_TEST(p.stats().completed == static_cast<uint64_t>(tasks));

  // The same through map with chunks, killing from the consuming thread.
  std::vector<int64_t> inputs(2000);
  std::iota(inputs.begin(), inputs.end(), 0);
  auto results = p.imap<Work, WorkResult>(inputs, fill_x, 5);
  for (int64_t i = 0; i < 2000; ++i) {
    auto r = results.next(patience);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->getValue() == i * i);
    if (i % 250 == 0) {
      auto workers = p.workers();
      if (!workers.empty()) workers.front().kill();
    }
  }
  BOOST_TEST((results.next(patience).error().code == errc::end_of_stream));
  BOOST_TEST(p.stats().workers_lost >= static_cast<uint64_t>(kills));
}

// A pool that outlives its node is terminated by the node's shutdown, not left
// talking to a node that is gone.
BOOST_AUTO_TEST_CASE(destroying_the_node_first_terminates_the_pool) {
  std::optional<pool> p;
  std::optional<pool_future<WorkResult>> queued;
  scratch s;
  gate g(s);
  std::vector<pid_t> pids;
  {
    node n{table()};
    p.emplace(pool::start(n, {.processes = 1}).value());
    for (auto& w : p->workers()) pids.push_back(w.pid());
    auto running = p->submit<Work, WorkResult>(gated(g, 1));
    queued = p->submit<Work, WorkResult>(square(2));
  }
  auto r = queued->get(patience);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == errc::cancelled));
  for (pid_t pid : pids) BOOST_TEST(test_helpers::process_state(pid) == 0);
  p.reset();  // nothing left to do, and nothing to crash on
}

namespace {

struct say_when : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// CPython's exception_throwing_generator(total, when): 0, 1, ... total - 1,
// but reading element `when` throws (-1: the very first read throws).
auto throwing_input(int64_t total, int64_t when) {
  return std::views::iota(int64_t{-1}, total) | std::views::filter([when](int64_t x) {
           if (x == when) throw say_when("somebody said when at " + std::to_string(x));
           return x >= 0;
         });
}

// The values next() gives until it throws say_when: they must be `expected`,
// in this order (or in any order if `sorted`), then the stream must end.
template <class Iterator>
void expect_results_then_the_input_error(Iterator results, std::vector<int64_t> expected, bool sorted = false) {
  std::vector<int64_t> got;
  bool thrown = false;
  for (std::size_t i = 0; i <= expected.size() && !thrown; ++i) {
    try {
      auto r = results.next(patience);
      BOOST_REQUIRE(r);
      got.push_back(r->getValue());
    } catch (const say_when&) {
      thrown = true;
    }
  }
  BOOST_TEST(thrown);
  if (sorted) std::sort(got.begin(), got.end());
  BOOST_TEST(got == expected, boost::test_tools::per_element());
  auto end = results.next(patience);  // the error ended the input
  BOOST_REQUIRE(!end);
  BOOST_TEST((end.error().code == errc::end_of_stream));
}

// A done-callback that holds the dispatcher until the test lets it go.
struct held_callback {
  std::mutex mutex;
  std::condition_variable changed;
  bool entered = false, released = false, finished = false;

  void run() {
    std::unique_lock lock(mutex);
    entered = true;
    changed.notify_all();
    changed.wait_for(lock, patience, [&] { return released; });
    finished = true;
  }
  bool wait_entered() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, patience, [&] { return entered; });
  }
  void release() {
    std::lock_guard lock(mutex);
    released = true;
    changed.notify_all();
  }
  bool has_finished() {
    std::lock_guard lock(mutex);
    return finished;
  }
};

// While `held` runs, `f` must not look resolved; once it is released, get()
// returns only after it has finished.
template <class Future>
void expect_resolved_only_after(const Future& f, held_callback& held) {
  BOOST_REQUIRE(held.wait_entered());
  BOOST_TEST(!f.ready());
  BOOST_TEST(!f.wait(0ms));
  auto early = f.get(0ms);
  BOOST_REQUIRE(!early);
  BOOST_TEST((early.error().code == errc::timeout));
  held.release();
  (void)f.get(patience);
  BOOST_TEST(f.ready());
  BOOST_TEST(held.has_finished());
}

}  // namespace

BOOST_AUTO_TEST_CASE(imap_gives_the_results_before_an_input_error_then_raises_it) {
  // CPython's test_imap_handle_iterable_exception, case by case.
  node n{table()};
  auto p = pool::start(n, {.processes = 2}).value();
  expect_results_then_the_input_error(p.imap<Work, WorkResult>(throwing_input(1, -1), fill_x), {});
  expect_results_then_the_input_error(p.imap<Work, WorkResult>(throwing_input(10, 3), fill_x), {0, 1, 4});
  // With chunks, the chunk the input broke in is not run: its place is the error's.
  expect_results_then_the_input_error(p.imap<Work, WorkResult>(throwing_input(20, 7), fill_x, 2),
                                      {0, 1, 4, 9, 16, 25});
  expect_results_then_the_input_error(p.imap<Work, WorkResult>(throwing_input(4, 3), fill_x), {0, 1, 4});
  // test_imap_unordered_handle_iterable_exception: every result read before, in any order, then the error.
  expect_results_then_the_input_error(p.imap_unordered<Work, WorkResult>(throwing_input(10, 3), fill_x), {0, 1, 4},
                                      true);
  BOOST_TEST(squared_by(p, 5) == 25);  // the pool carries on
}

BOOST_AUTO_TEST_CASE(done_callbacks_run_before_get_and_wait_return) {
  // CPython's ApplyResult runs callback and error_callback before it sets the
  // event that wait() and get() wait for. Each task waits at a gate, so that
  // its callback is registered before it resolves and runs on the dispatcher.
  node n{table()};
  scratch s;
  auto p = pool::start(n, {.processes = 1}).value();
  {
    gate g(s, "value");
    held_callback held;
    auto f = p.apply_async<Work, WorkResult>(gated(g, 3), [&](const pool_result<WorkResult>&) { held.run(); });
    g.open_once();
    expect_resolved_only_after(f, held);
  }
  {
    gate g(s, "error");
    held_callback held;
    auto throwing_at_gate = [&](Work::Builder b) {
      gated(g, 4)(b);
      b.setAction(Work::Action::THROW_EXCEPTION);
    };
    auto f = p.apply_async<Work, WorkResult>(
        throwing_at_gate, [](const pool_result<WorkResult>&) {}, [&](const error&) { held.run(); });
    g.open_once();
    expect_resolved_only_after(f, held);
  }
  {
    gate g(s, "on_done");
    held_callback held;
    auto f = p.submit<Work, WorkResult>(gated(g, 5));
    f.on_done([&](const expected<pool_result<WorkResult>>&) { held.run(); });
    g.open_once();
    expect_resolved_only_after(f, held);
  }
  // A callback may read its own future: the dispatcher does not wait for itself.
  gate g(s, "self");
  std::optional<int64_t> seen;
  auto f = p.submit<Work, WorkResult>(gated(g, 6));
  f.on_done([&seen, state = f.state()](const expected<pool_result<WorkResult>>&) {
    auto r = pool_future<WorkResult>(state).get(0ms);
    seen = r ? r->getValue() : -1;
  });
  g.open_once();
  BOOST_REQUIRE(f.get(patience));
  BOOST_TEST(seen.value_or(0) == 36);
}

BOOST_AUTO_TEST_CASE(a_done_callback_may_call_its_pool_without_waiting_for_itself) {
  // Callbacks run on the dispatcher: what they ask of the pool is done in
  // place, not asked of the dispatcher and waited for.
  node n{table()};
  scratch s;
  gate g(s);
  auto p = pool::start(n, {.processes = 1}).value();
  auto first = p.submit<Work, WorkResult>(gated(g, 2));
  auto second = p.submit<Work, WorkResult>(square(3));  // runs when the first is done
  auto third = p.submit<Work, WorkResult>(square(4));   // still queued then
  std::optional<pool_stats> seen;
  bool cancelled = false;
  expected<void> joined;
  first.on_done([&](const expected<pool_result<WorkResult>>&) {
    seen = p.stats();
    cancelled = third.cancel();
    p.close();
    joined = p.join(patience);
  });
  g.open_once();
  BOOST_REQUIRE(first.get(patience));  // the callback has returned
  BOOST_REQUIRE(seen.has_value());
  BOOST_TEST(seen->running == 1u);
  BOOST_TEST(seen->queued == 1u);
  BOOST_TEST(cancelled);
  BOOST_REQUIRE(!joined);
  BOOST_TEST((joined.error().code == errc::invalid_argument));
  BOOST_TEST(second.get(patience)->getValue() == 9);
  BOOST_TEST((third.get(patience).error().code == errc::cancelled));
  BOOST_TEST((p.submit<Work, WorkResult>(square(5)).get(patience).error().code == errc::pool_closed));
  BOOST_REQUIRE(p.join(patience));
}
