#pragma once
// The actors of the synchronization primitives (semaphore, event, condition,
// barrier, value): the server side of patterns/sync.hpp, which documents the
// semantics. Private to the patterns layer (never installed).

#include "lock_actor.hpp"
#include "waiters.hpp"

#include <actorproc/patterns/sync.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <variant>

namespace actorproc {

class semaphore_actor {
 public:
  using handles = actorproc::handles<schema::SemaphoreAcquire, schema::SemaphoreRelease, schema::SemaphoreStat>;
  explicit semaphore_actor(context& ctx);
  void on(schema::SemaphoreAcquire::Reader m, context& ctx);
  void on(schema::SemaphoreRelease::Reader m, context& ctx);
  void on(schema::SemaphoreStat::Reader m, context& ctx);
  void on_down(actor_ref who, const exit_reason& why, context& ctx);

 private:
  void grant(const deferred_reply& to, context& ctx);
  void serve(context& ctx);

  uint64_t initial_;
  uint64_t value_;
  bool bounded_;
  bool return_on_death_;
  std::deque<detail::timed_waiter> waiters_;
  std::map<uint64_t, uint64_t> held_;  // permits by the actor that acquired them
  detail::watchers watched_;
};

class event_actor {
 public:
  using handles = actorproc::handles<schema::EventSet, schema::EventClear, schema::EventWait, schema::EventStat>;
  void on(schema::EventSet::Reader m, context& ctx);
  void on(schema::EventClear::Reader m, context& ctx);
  void on(schema::EventWait::Reader m, context& ctx);
  void on(schema::EventStat::Reader m, context& ctx);

 private:
  void reply_state(const deferred_reply& to, context& ctx);

  bool set_ = false;
  std::deque<detail::timed_waiter> waiters_;
};

class condition_actor {
 public:
  using handles = actorproc::handles<schema::LockAcquire, schema::LockRelease, schema::ConditionWait,
                                     schema::ConditionNotify, schema::ConditionStat>;
  void on(schema::LockAcquire::Reader m, context& ctx) { lock_.acquire(m, ctx); }
  void on(schema::LockRelease::Reader, context& ctx) { lock_.release(ctx); }
  void on(schema::ConditionWait::Reader m, context& ctx);
  void on(schema::ConditionNotify::Reader m, context& ctx);
  void on(schema::ConditionStat::Reader m, context& ctx);
  void on_down(actor_ref who, const exit_reason& why, context& ctx);

 private:
  struct waiter {
    uint64_t timer = 0;
    deferred_reply reply;
    std::size_t depth = 1;  // the lock's depth to restore
    std::chrono::milliseconds reacquire{0};
  };
  void wake(const waiter& w, bool notified, context& ctx);

  detail::lock_core lock_{true};
  std::deque<waiter> waiters_;
};

class barrier_actor {
 public:
  using handles =
      actorproc::handles<schema::BarrierWait, schema::BarrierAbort, schema::BarrierReset, schema::BarrierStat>;
  explicit barrier_actor(context& ctx);
  void on(schema::BarrierWait::Reader m, context& ctx);
  void on(schema::BarrierAbort::Reader m, context& ctx);
  void on(schema::BarrierReset::Reader m, context& ctx);
  void on(schema::BarrierStat::Reader m, context& ctx);
  void on_down(actor_ref who, const exit_reason& why, context& ctx);

 private:
  void break_barrier(const std::string& why, context& ctx);
  void fail_waiters(const std::string& why, context& ctx);

  uint32_t parties_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
  std::string broken_by_;
  std::deque<detail::timed_waiter> waiters_;  // in arrival order: the index is the position
  detail::watchers watched_;
};

class value_actor {
 public:
  using handles = actorproc::handles<schema::ValueGet, schema::ValueSet, schema::ValueAdd, schema::ValueCompareAndSet>;
  explicit value_actor(context& ctx);
  void on(schema::ValueGet::Reader m, context& ctx);
  void on(schema::ValueSet::Reader m, context& ctx);
  void on(schema::ValueAdd::Reader m, context& ctx);
  void on(schema::ValueCompareAndSet::Reader m, context& ctx);

 private:
  std::variant<int64_t, double> value_;
  bool matches(schema::Scalar::Reader s) const;
  void reply_value(context& ctx, bool swapped = false);
};

}  // namespace actorproc
