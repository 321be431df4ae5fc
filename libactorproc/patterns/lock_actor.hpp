#pragma once
// The lock's actor and the lock state it shares with the condition's actor:
// the server side of patterns/lock.hpp, which documents the semantics. Private
// to the patterns layer (never installed).

#include "waiters.hpp"

#include <actorproc/patterns/lock.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace actorproc {
namespace detail {

/// A lock's state and protocol (LockAcquire, LockRelease): its holder, its
/// waiters in arrival order, and the death of a holder, told to the next one.
/// lock_actor is one; condition_actor (sync_actors.hpp) owns one as its lock
/// and uses release_all() and reacquire() for its waits.
class lock_core {
 public:
  explicit lock_core(bool reentrant) : reentrant_(reentrant) {}

  bool held() const { return held_; }
  bool held_by(uint64_t who) const { return held_ && holder_ == who; }

  /// Handles a LockAcquire: grants it now, refuses it, or keeps it waiting.
  void acquire(schema::LockAcquire::Reader m, context& ctx);
  /// Handles a LockRelease: only the holder may release.
  void release(context& ctx);
  /// Gives the lock up entirely for its holder (a condition wait); returns the
  /// depth to restore when it is re-acquired.
  std::size_t release_all(context& ctx);
  /// Queues `reply` (a condition wait that is over) to hold the lock again at
  /// `depth`. It is answered with a LockGrant carrying `notified`, or failed
  /// with timeout when the lock is not free within `timeout`.
  void reacquire(const deferred_reply& reply, std::size_t depth, bool notified, std::chrono::milliseconds timeout,
                 context& ctx);
  void on_down(actor_ref who, const exit_reason& why, context& ctx);

 private:
  struct waiter {
    uint64_t timer = 0;
    deferred_reply reply;
    std::size_t depth = 1;
    bool notified = false;  // a condition wait that is over: woken by notify
  };
  void grant(const waiter& to, context& ctx);
  void hand_over(context& ctx);

  bool reentrant_;
  uint64_t holder_ = 0;  // actor id; meaningful only while held
  bool held_ = false;
  std::size_t depth_ = 0;  // reentrant acquisitions
  std::deque<waiter> waiters_;
  watchers watched_;
  std::optional<std::pair<uint64_t, exit_reason>> died_;  // told to the next holder
};

}  // namespace detail

class lock_actor {
 public:
  using handles = actorproc::handles<schema::LockAcquire, schema::LockRelease>;
  explicit lock_actor(context& ctx);
  void on(schema::LockAcquire::Reader m, context& ctx) { lock_.acquire(m, ctx); }
  void on(schema::LockRelease::Reader, context& ctx) { lock_.release(ctx); }
  void on_down(actor_ref who, const exit_reason& why, context& ctx) { lock_.on_down(who, why, ctx); }

 private:
  detail::lock_core lock_;
};

}  // namespace actorproc
