#pragma once
// future<V>: the outcome of work done elsewhere (a pool task), resolved exactly
// once, like concurrent.futures.Future and multiprocessing's AsyncResult.
//
//   auto f = pool.submit<Work, WorkResult>(fill);   // future<pool_result<WorkResult>>
//   f.wait(1s);                     // true once resolved
//   auto r = f.get(5s);             // expected<V>: the value, the task's error, or timeout
//   f.on_done([](const expected<V>& r) { ... });
//   for (auto done = as_completed(futures); done.remaining() > 0;) auto f = done.next(5s);
//
// Semantics:
// - A future resolves exactly once: with a value or with an error (the task's
//   own failure, actor_down with the worker's exit reason, cancelled...). The
//   first resolution wins; later attempts are ignored.
// - get(timeout) never hangs: it fails with `timeout` if the future is still
//   pending when the timeout passes, and the future stays usable. get() may be
//   called again and from several threads; each call copies the value.
// - cancel() succeeds only while the work has not started (Python's rule); the
//   future then fails with `cancelled`. It returns true if the future is
//   cancelled, false if the work has started or finished.
// - on_done callbacks run once, in registration order: at once on the calling
//   thread if the future is already resolved, otherwise on the thread that
//   resolves it (a pool's dispatcher thread). Keep them short; they may submit
//   more work but must not wait for it.
// - The callbacks run before the future counts as resolved, as in CPython's
//   ApplyResult: ready(), wait() and get() in other threads see the outcome
//   only once every callback registered by then has returned, so a caller of
//   get() can rely on what a callback did. (A callback may call get() on its
//   own future: the resolving thread does not wait for itself.) So a thread
//   that a callback wakes should get() with a timeout, not with 0 ms: the
//   future becomes visible once the callbacks after that one have returned.

#include <actorproc/base/expected.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace actorproc {

namespace detail {

template <class V>
struct future_state {
  using callback = std::function<void(const expected<V>&)>;

  std::mutex mutex;
  std::condition_variable resolved;
  std::optional<expected<V>> outcome;  // set once, then never modified
  /// The outcome is set and its callbacks have run: what other threads wait for.
  bool settled = false;
  /// The thread that runs the callbacks; it sees the outcome at once.
  std::thread::id settling_thread;
  std::vector<callback> callbacks;
  /// The producer's: drops the work if it has not started; true if it did.
  std::function<bool()> cancel_work;

  /// Resolves once, then runs the callbacks, then wakes the waiters; false
  /// (and no effect) if already resolved.
  bool resolve(expected<V> value) {
    {
      std::lock_guard lock(mutex);
      if (outcome) return false;
      outcome.emplace(std::move(value));
      cancel_work = nullptr;
      settling_thread = std::this_thread::get_id();
    }
    // Callbacks registered meanwhile (on_done from another thread) queue up
    // behind these and run here too, in order, until none is left.
    try {
      for (;;) {
        std::vector<callback> run;
        {
          std::lock_guard lock(mutex);
          if (callbacks.empty()) {
            settled = true;
            break;
          }
          run.swap(callbacks);
        }
        for (auto& fn : run) fn(*outcome);
      }
    } catch (...) {  // a callback threw: its exception goes on, but no waiter may hang
      {
        std::lock_guard lock(mutex);
        settled = true;
      }
      resolved.notify_all();
      throw;
    }
    resolved.notify_all();
    return true;
  }

  /// Whether the calling thread may see the outcome (mutex held).
  bool visible_locked() const {
    return settled || (outcome.has_value() && settling_thread == std::this_thread::get_id());
  }
};

}  // namespace detail

template <class V>
class future {
 public:
  future() = default;
  explicit future(std::shared_ptr<detail::future_state<V>> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }

  /// True once resolved (with a value or an error).
  bool ready() const {
    std::lock_guard lock(state_->mutex);
    return state_->visible_locked();
  }
  /// True once resolved with a value.
  bool successful() const {
    std::lock_guard lock(state_->mutex);
    return state_->visible_locked() && state_->outcome->has_value();
  }
  /// Waits up to `timeout`; true once resolved.
  bool wait(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(state_->mutex);
    return state_->resolved.wait_for(lock, timeout, [&] { return state_->visible_locked(); });
  }
  /// The outcome, waiting up to `timeout`; fails with timeout if still pending.
  expected<V> get(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(state_->mutex);
    if (!state_->resolved.wait_for(lock, timeout, [&] { return state_->visible_locked(); })) {
      return error(errc::timeout, "the result was not ready within " + std::to_string(timeout.count()) + " ms");
    }
    return *state_->outcome;
  }

  /// Cancels the work if it has not started; true if the future is cancelled.
  bool cancel() const {
    std::function<bool()> cancel_work;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->outcome) return is_cancelled_locked();
      cancel_work = state_->cancel_work;
    }
    if (!cancel_work || !cancel_work()) return cancelled();
    state_->resolve(error(errc::cancelled, "cancelled before it started"));
    return cancelled();
  }
  bool cancelled() const {
    std::lock_guard lock(state_->mutex);
    return is_cancelled_locked();
  }

  /// Calls `fn` with the outcome once resolved (at once if it is).
  void on_done(std::function<void(const expected<V>&)> fn) const {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->settled) {  // the resolving thread, if any, runs it after those before it
        state_->callbacks.push_back(std::move(fn));
        return;
      }
    }
    fn(*state_->outcome);
  }

  const std::shared_ptr<detail::future_state<V>>& state() const { return state_; }

 private:
  bool is_cancelled_locked() const {
    return state_->outcome && !state_->outcome->has_value() && state_->outcome->error().code == errc::cancelled;
  }
  std::shared_ptr<detail::future_state<V>> state_;
};

namespace detail {

/// A future resolved with convert(outcome of `source`); cancelling it cancels `source`.
template <class V, class U, class Convert>
future<V> chain(const future<U>& source, Convert convert) {
  auto target = std::make_shared<future_state<V>>();
  target->cancel_work = [source] { return source.cancel(); };
  source.on_done(
      [target, convert = std::move(convert)](const expected<U>& outcome) { target->resolve(convert(outcome)); });
  return future<V>(target);
}

}  // namespace detail

/// Futures in the order they resolve (concurrent.futures.as_completed; the
/// pool's imap_unordered adds its futures as it submits them).
template <class V>
class completion_order {
 public:
  completion_order() = default;
  explicit completion_order(std::vector<future<V>> futures) {
    for (auto& f : futures) add(std::move(f));
  }

  /// One more future to give back once it resolves.
  void add(future<V> f) {
    std::size_t index = added_++;
    f.on_done([done = done_, index](const expected<V>&) {
      {
        std::lock_guard lock(done->mutex);
        done->order.push_back(index);
      }
      done->changed.notify_all();
    });
    pending_.emplace(index, std::move(f));
  }

  /// The next future to resolve, waiting up to `timeout` (timeout error);
  /// end_of_stream once every future has been given. A future given is
  /// resolved: its get() answers at once.
  expected<future<V>> next(std::chrono::milliseconds timeout) {
    if (pending_.empty()) return error(errc::end_of_stream, "every future has been given");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t index;
    {
      std::unique_lock lock(done_->mutex);
      if (!done_->changed.wait_until(lock, deadline, [&] { return !done_->order.empty(); })) {
        return error(errc::timeout, "no future resolved within " + std::to_string(timeout.count()) + " ms");
      }
      index = done_->order.front();
      done_->order.pop_front();
    }
    // Our callback has run; the future counts as resolved once the others have too.
    auto given = pending_.find(index);
    if (!given->second.wait(std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
      std::lock_guard lock(done_->mutex);
      done_->order.push_front(index);  // still the next one, for the next call
      return error(errc::timeout, "no future resolved within " + std::to_string(timeout.count()) + " ms");
    }
    auto f = std::move(given->second);
    pending_.erase(given);  // given back: no longer held here
    return f;
  }
  std::size_t remaining() const { return pending_.size(); }

 private:
  struct done_queue {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::size_t> order;
  };
  std::map<std::size_t, future<V>> pending_;  // not yet given, by the order they were added
  std::shared_ptr<done_queue> done_ = std::make_shared<done_queue>();
  std::size_t added_ = 0;
};

template <class V>
completion_order<V> as_completed(std::vector<future<V>> futures) {
  return completion_order<V>(std::move(futures));
}

}  // namespace actorproc
