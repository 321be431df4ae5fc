#pragma once
// pool: multiprocessing.Pool and ProcessPoolExecutor, as a dispatcher actor in
// the node plus n worker actors that it supervises.
//
//   // in main(), before run_if_worker: the functions the workers can run (pool_functions.hpp)
//   actorproc::pool_functions functions;
//   functions.add<Square, Squared>([](Square::Reader in, Squared::Builder out) { out.setValue(in.getX() * in.getX()); });
//   actorproc::add_pool(actors, std::move(functions));
//   ...
//   auto pool = actorproc::pool::start(node, {.processes = 3}).value();
//   auto one = pool.apply<Square, Squared>([](Square::Builder b) { b.setX(7); });  // expected<pool_result<Squared>>
//   auto f = pool.submit<Square, Squared>([](Square::Builder b) { b.setX(8); });   // pool_future<Squared>
//   std::vector<int64_t> inputs{1, 2, 3};
//   auto all = pool.map<Square, Squared>(inputs, [](Square::Builder b, int64_t x) { b.setX(x); }, {.chunksize = 8});
//   if (all) for (auto& r : *all) std::printf("%lld\n", (long long)r.getValue());
//   pool.close();
//   pool.join();
//
// A task is a Cap'n Proto struct; its type selects the function (registered
// with pool_functions::add<Task, Result>), which fills a Result struct in the
// worker process. The initializer (pool_functions::initializer) runs once in
// each worker, with pool_options::initargs, before it takes tasks.
//
// Semantics (Python's, minus its traps):
// - Workers: `processes` worker actors (default: the number of CPUs). A worker
//   that dies, for any reason, is replaced at once. maxtasksperchild: a worker
//   is retired (stopped gracefully) after that many tasks, and replaced.
// - Crashes affect only the chunk in flight on the dead worker: it is run again
//   on another worker, up to max_retries times; then each of its futures fails
//   with actor_down and the worker's exit reason. So a task may run more than
//   once (at least once, like JoinableQueue): make tasks idempotent. The pool
//   never hangs and is never poisoned (Python's Pool hangs forever when a
//   worker is killed; its ProcessPoolExecutor breaks for good). Whether a
//   chunk is run again follows the error's class (classify() in
//   base/error.hpp): only a worker gone (peer_gone) or a chunk not taken
//   (retry_later) is worth another run; a usage bug, a failure or a limit
//   (too_large: the results do not fit in one frame) would come back the same,
//   and fails the chunk's futures at once.
// - A task function that throws fails that task's future with
//   handler_exception and the exception's message; the worker carries on. A
//   task of a type no function takes fails with unhandled_message.
// - Every future resolves exactly once.
// - submit()/apply_async() queue the task. At most max_queued tasks wait
//   unstarted: beyond that submit() waits for room up to its timeout, then the
//   future fails with queue_full (memory stays bounded).
// - map/imap/imap_unordered/starmap read their input lazily: at most `window`
//   chunks are submitted ahead of the results consumed. imap's next(timeout)
//   fails with timeout and may be called again; at the end it fails with
//   end_of_stream. map() returns every result in input order, or the first
//   error in input order. Chunks (chunksize) are run by one worker in one
//   message; a crash retries the whole chunk.
// - An input that throws (its iterator or the fill function) ends the input
//   there, as in Python: next() first gives the result of every chunk read
//   before, then rethrows the exception, then fails with end_of_stream. The
//   chunk being read when it threw is not run (its place is the exception's),
//   as CPython's imap does. imap_unordered gives the exception last.
// - close(): no more tasks (submit fails with pool_closed); the queued ones
//   still run. shutdown(wait, cancel_futures) is close() (cancelling the
//   queued tasks if asked) followed by join() if `wait`. terminate(): queued
//   and running tasks fail with cancelled and the workers are killed. join():
//   only after close() or terminate() (otherwise invalid_argument, as Python's
//   ValueError); waits until every task is resolved (its done-callbacks
//   included) and every worker has exited.
// - A pool whose workers cannot start (an initializer that throws, a crash at
//   start) three times in a row is broken: its pending futures fail with
//   `broken` and the error of the last start, and so does every later submit.
//   (Python's Pool respawns such workers forever.)
// - Destroying the pool terminates it and joins it. So does destroying the node
//   first: the pool registers a node shutdown hook.
// - Done-callbacks (on_done, apply_async's callbacks) run on the pool's
//   dispatcher, a CAF actor with a thread of its own, like Python's
//   result-handler thread, and before the future counts as resolved: get(),
//   wait() and apply() return after them (as CPython's ApplyResult). A
//   callback may submit more work, cancel, close, terminate or read stats()
//   (done in place, not asked of the dispatcher), but must not wait for work:
//   join() from a callback fails with invalid_argument. A callback that
//   throws is reported on stderr and the pool carries on.

#include <actorproc/node/node.hpp>
#include <actorproc/patterns/future.hpp>
#include <actorproc/patterns/pool_functions.hpp>
#include <actorproc/pool.capnp.h>

#include <capnp/message.h>

#include <exception>
#include <map>
#include <memory>
#include <ranges>
#include <tuple>
#include <vector>

namespace actorproc {

struct pool_options {
  std::string name = "pool";
  /// Worker actors; 0: std::thread::hardware_concurrency().
  std::size_t processes = 0;
  /// Handed to pool_functions::initializer in each worker.
  std::vector<std::string> initargs = {};
  /// Retire a worker after this many tasks; 0: never.
  std::size_t maxtasksperchild = 0;
  /// How often a chunk whose worker died is run again before its futures fail.
  unsigned max_retries = 2;
  /// Tasks queued and not started; submit() waits beyond (up to submit_timeout).
  std::size_t max_queued = 10000;
  std::chrono::milliseconds submit_timeout = default_timeout;
  /// imap/map: chunks in flight ahead of the consumer; 0: 2 x processes.
  std::size_t window = 0;
  /// The worker actor type (see add_pool).
  std::string worker_type = default_pool_worker_type;
};

struct pool_stats {
  std::size_t processes = 0;
  std::size_t workers = 0;  // alive now
  std::size_t queued = 0;   // tasks waiting for a worker
  std::size_t running = 0;  // tasks on a worker now
  uint64_t completed = 0;   // tasks resolved with a value
  uint64_t failed = 0;      // tasks resolved with an error (cancelled ones included)
  uint64_t retried = 0;     // task runs repeated because their worker died
  uint64_t workers_started = 0;
  uint64_t workers_lost = 0;  // workers that died (not retired)
};

/// A task's result: reads as Result, keeps the worker's answer alive (copyable).
template <class Result>
class pool_result : public Result::Reader {
 public:
  pool_result(std::shared_ptr<const void> owner, typename Result::Reader reader)
      : Result::Reader(reader), owner_(std::move(owner)) {}
  typename Result::Reader get() const { return *this; }

 private:
  std::shared_ptr<const void> owner_;
};

template <class Result>
using pool_future = future<pool_result<Result>>;

struct map_options {
  std::size_t chunksize = 1;
  /// map(): the longest wait for any one result.
  std::chrono::milliseconds timeout = std::chrono::hours(24);
};

namespace detail {

/// One task's outcome as the worker answered it (untyped).
/// (The outcome's reader is taken once: every read through a pointer counts
/// against the frame's traversal limit, so re-reading the list per task would not.)
struct pool_value {
  std::shared_ptr<const message<schema::PoolDone>> answer;
  schema::PoolOutcome::Reader outcome;
};
using task_input = std::unique_ptr<capnp::MallocMessageBuilder>;  // root: PoolTask
using task_future = future<pool_value>;

template <class Task, class Fill, class... Args>
task_input make_task(Fill& fill, Args&&... args) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>(64);
  auto root = message->initRoot<schema::PoolTask>();
  root.setTaskType(capnp::typeId<Task>());
  fill(root.getInput().initAs<Task>(), std::forward<Args>(args)...);
  return message;
}

template <class Result>
expected<pool_result<Result>> typed(const expected<pool_value>& value) {
  if (!value) return value.error();
  auto outcome = value->outcome;
  if (outcome.getResultType() != capnp::typeId<Result>()) {
    return error(errc::type_mismatch, "the task's function returns another result type");
  }
  return pool_result<Result>(value->answer, outcome.getValue().getAs<Result>());
}

template <class Result>
pool_future<Result> typed(const task_future& f) {
  return chain<pool_result<Result>>(f, [](const expected<pool_value>& v) { return typed<Result>(v); });
}

class pool_core;
class result_stream;  // patterns/pool_stream.hpp, the library's

/// The lazy input of imap: makes the next task, or nothing at the end.
using task_source = std::function<task_input()>;

/// result_stream::next, for pool_iterator (the stream's type stays the library's).
expected<pool_value> next_result(result_stream& stream, std::chrono::milliseconds timeout);

}  // namespace detail

/// imap/imap_unordered's results: next(timeout) until end_of_stream.
template <class Result>
class pool_iterator {
 public:
  explicit pool_iterator(std::shared_ptr<detail::result_stream> stream) : stream_(std::move(stream)) {}
  expected<pool_result<Result>> next(std::chrono::milliseconds timeout = default_timeout) {
    return detail::typed<Result>(detail::next_result(*stream_, timeout));
  }

 private:
  std::shared_ptr<detail::result_stream> stream_;
};

class pool {
 public:
  /// Starts the dispatcher and the workers; fails if no worker can start.
  static expected<pool> start(node& n, pool_options options = {});
  pool(pool&&) noexcept;
  pool& operator=(pool&&) noexcept;
  /// Terminates and joins the pool if that has not been done.
  ~pool();

  /// Queues one task (ProcessPoolExecutor.submit, Pool.apply_async).
  template <class Task, class Result, class Fill>
  pool_future<Result> submit(Fill&& fill) {
    return detail::typed<Result>(submit_chunk(one<Task>(fill)).front());
  }
  /// submit() with Python's callback and error_callback (run on the dispatcher).
  template <class Task, class Result, class Fill>
  pool_future<Result> apply_async(Fill&& fill, std::function<void(const pool_result<Result>&)> callback,
                                  std::function<void(const error&)> error_callback = {}) {
    auto f = submit<Task, Result>(fill);
    f.on_done([callback = std::move(callback), error_callback = std::move(error_callback)](const auto& outcome) {
      if (outcome) {
        if (callback) callback(*outcome);
      } else if (error_callback) {
        error_callback(outcome.error());
      }
    });
    return f;
  }
  /// Runs one task and waits for it (Pool.apply).
  template <class Task, class Result, class Fill>
  expected<pool_result<Result>> apply(Fill&& fill, std::chrono::milliseconds timeout = std::chrono::hours(24)) {
    return submit<Task, Result>(fill).get(timeout);
  }

  /// Results in input order, reading `inputs` lazily; fill(Task::Builder, item).
  template <class Task, class Result, class Range, class Fill>
  pool_iterator<Result> imap(Range&& inputs, Fill fill, std::size_t chunksize = 1) {
    return pool_iterator<Result>(stream<Task>(std::forward<Range>(inputs), std::move(fill), chunksize, true));
  }
  /// Results in completion order.
  template <class Task, class Result, class Range, class Fill>
  pool_iterator<Result> imap_unordered(Range&& inputs, Fill fill, std::size_t chunksize = 1) {
    return pool_iterator<Result>(stream<Task>(std::forward<Range>(inputs), std::move(fill), chunksize, false));
  }
  /// Every result in input order, or the first error in input order.
  template <class Task, class Result, class Range, class Fill>
  expected<std::vector<pool_result<Result>>> map(Range&& inputs, Fill fill, map_options options = {}) {
    auto results = imap<Task, Result>(std::forward<Range>(inputs), std::move(fill), options.chunksize);
    std::vector<pool_result<Result>> out;
    while (true) {
      auto r = results.next(options.timeout);
      if (!r) {
        if (r.error().code == errc::end_of_stream) return out;
        return r.error();
      }
      out.push_back(std::move(*r));
    }
  }
  /// map() where each item is a tuple: fill(Task::Builder, elements...).
  template <class Task, class Result, class Range, class Fill>
  expected<std::vector<pool_result<Result>>> starmap(Range&& inputs, Fill fill, map_options options = {}) {
    auto spread = [fill = std::move(fill)](auto builder, const auto& args) {
      std::apply([&](const auto&... xs) { fill(builder, xs...); }, args);
    };
    return map<Task, Result>(std::forward<Range>(inputs), std::move(spread), options);
  }
  /// Submits every item now (no window: like Python, the input is consumed at
  /// once) and resolves with all results in order, or the first error to occur.
  template <class Task, class Result, class Range, class Fill>
  future<std::vector<pool_result<Result>>> map_async(Range&& inputs, Fill fill, std::size_t chunksize = 1) {
    std::vector<detail::task_future> parts;
    std::vector<detail::task_input> chunk;
    for (auto&& item : inputs) {
      chunk.push_back(detail::make_task<Task>(fill, item));
      if (chunk.size() >= chunksize) {
        append(parts, submit_chunk(std::move(chunk)));
        chunk.clear();
      }
    }
    if (!chunk.empty()) append(parts, submit_chunk(std::move(chunk)));
    return gather<Result>(std::move(parts));
  }

  /// No more tasks; queued ones still run.
  void close();
  /// ProcessPoolExecutor.shutdown: close(); with `cancel_futures` the queued
  /// tasks fail with cancelled (running ones finish); with `wait`, join().
  expected<void> shutdown(bool wait = true, bool cancel_futures = false);
  /// Cancels queued and running tasks and kills the workers.
  void terminate();
  /// After close() or terminate(): waits until every task is resolved (its
  /// done-callbacks included) and every worker has exited.
  expected<void> join(std::chrono::milliseconds timeout = std::chrono::minutes(5));

  pool_stats stats() const;
  /// The workers alive now (e.g. to inject faults).
  std::vector<actor_handle> workers() const;

 private:
  explicit pool(std::shared_ptr<detail::pool_core> core);
  std::vector<detail::task_future> submit_chunk(std::vector<detail::task_input> tasks);
  static void append(std::vector<detail::task_future>& to, std::vector<detail::task_future> more);

  template <class Task, class Fill>
  static std::vector<detail::task_input> one(Fill& fill) {
    std::vector<detail::task_input> tasks;
    tasks.push_back(detail::make_task<Task>(fill));
    return tasks;
  }

  template <class Task, class Range, class Fill>
  std::shared_ptr<detail::result_stream> stream(Range&& inputs, Fill fill, std::size_t chunksize, bool ordered) {
    // Owns an rvalue range, refers to an lvalue one (which must outlive the iterator).
    using view = decltype(std::views::all(std::forward<Range>(inputs)));
    // begin() and ++ may read the input (a filter does) and throw: each is done
    // only when the next item is asked for, so that what the input throws
    // belongs to the item it failed to give (a generator's semantics).
    struct cursor {
      view items;
      std::optional<std::ranges::iterator_t<view>> at;
      bool taken = false;  // *at has been made into a task
      Fill fill;
    };
    auto c = std::make_shared<cursor>(cursor{std::views::all(std::forward<Range>(inputs)), {}, false, std::move(fill)});
    detail::task_source source = [c]() -> detail::task_input {
      if (!c->at) {
        c->at = std::ranges::begin(c->items);
      } else if (c->taken) {
        c->taken = false;
        ++*c->at;
      }
      if (*c->at == std::ranges::end(c->items)) return nullptr;
      auto task = detail::make_task<Task>(c->fill, **c->at);
      c->taken = true;
      return task;
    };
    return make_stream(std::move(source), chunksize, ordered);
  }
  std::shared_ptr<detail::result_stream> make_stream(detail::task_source source, std::size_t chunksize, bool ordered);

  template <class Result>
  static future<std::vector<pool_result<Result>>> gather(std::vector<detail::task_future> parts) {
    using all = std::vector<pool_result<Result>>;
    struct gathering {
      std::mutex mutex;
      std::vector<std::optional<pool_result<Result>>> results;
      std::size_t missing;
    };
    auto target = std::make_shared<detail::future_state<all>>();
    auto g = std::make_shared<gathering>();
    g->results.resize(parts.size());
    g->missing = parts.size();
    if (parts.empty()) target->resolve(all{});
    for (std::size_t i = 0; i < parts.size(); ++i) {
      parts[i].on_done([target, g, i](const expected<detail::pool_value>& outcome) {
        auto r = detail::typed<Result>(outcome);
        if (!r) return void(target->resolve(r.error()));  // the first error wins
        std::unique_lock lock(g->mutex);
        g->results[i].emplace(std::move(*r));
        if (--g->missing > 0) return;
        all out;
        for (auto& x : g->results) out.push_back(std::move(*x));
        lock.unlock();
        target->resolve(std::move(out));
      });
    }
    return future<all>(target);
  }

  std::shared_ptr<detail::pool_core> core_;
};

}  // namespace actorproc
