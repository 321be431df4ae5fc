#pragma once
// Semaphore, BoundedSemaphore, Event, Condition, Barrier and Value as actors:
// the rest of multiprocessing.Manager's synchronization, safe when a
// participant dies.
//
//   actorproc::add_sync(actors);                                   // in main()
//   auto s = actorproc::start_semaphore(node, {.value = 3, .bounded = true}).value();
//   // in an actor, with the semaphore's id from a message or an argument:
//   auto slots = actorproc::semaphore_in(ctx, {sem_id});
//   if (slots.acquire(5s)) { ... at most 3 actors in here at once ...; slots.release(); }
//   // from the node:
//   actorproc::value_client<int64_t, actorproc::actor_handle> hits(start_value<int64_t>(node, {}).value());
//   hits.add(1);                                                   // atomic, no lock needed
//
// Each primitive is one actor process and every operation one request to it,
// so each operation is atomic. A blocking operation (acquire, wait) carries its
// timeout: the actor answers it itself when the timeout passes, and the request
// waits a margin longer. Participants are actors, told apart by id; the node is
// one participant (id 0) whatever thread calls, and it never dies first.
//
// Semaphore and BoundedSemaphore (start_semaphore, semaphore_client):
// - acquire(timeout) waits in arrival order while no permit is free, then
//   fails with timeout. try_acquire() answers at once: true or false.
// - release(n) frees n permits. Anyone may release, as in Python; a
//   BoundedSemaphore refuses a release that would raise its value above the
//   initial one with invalid_argument (Python's ValueError).
// - An actor that acquired a permit holds it until that same actor releases
//   one. An actor that dies returns every permit it holds, so a crashed worker
//   never leaks a slot (a BoundedSemaphore never rises above its initial value
//   that way). WARNING: this is wrong for a semaphore used as a signal (one
//   actor acquires, others release): start it with `.return_on_death = false`.
// Event (start_event, event_client):
// - set() wakes every waiter; clear() resets the flag. wait(timeout) answers
//   true once the flag is set, false when the timeout passes first: a timeout
//   is not an error, as in Python.
// Condition (start_condition, condition_client):
// - It owns its lock, a reentrant lock like Python's default RLock: acquire,
//   try_acquire and release are lock_client's (patterns/lock.hpp), with the
//   same guarantee: a holder that dies releases it, and the next holder is
//   told (previous_holder_died).
// - wait(timeout) needs the lock: it releases it entirely, waits for a notify
//   or the timeout, then holds the lock again, at the same depth, before it
//   answers (`notified` says which woke it). Waiting for the lock again is
//   bounded too (`reacquire`, default_timeout): past it, wait fails with
//   timeout and the caller does not hold the lock.
// - notify(n) wakes the n oldest waits, notify_all() all of them; they take
//   the lock in turn once the notifier releases it. wait and notify by an actor
//   that does not hold the lock fail with invalid_argument (Python's
//   RuntimeError).
// Barrier (start_barrier, barrier_client):
// - wait() blocks until `parties` callers are waiting, then answers each with
//   its arrival index, 0 for the first to arrive to parties - 1 for the last;
//   the barrier is then ready for the next round.
// - abort(), a wait that times out, and a party that dies while waiting break
//   the barrier (Python would hang on the dead party): every waiter, and every
//   later wait, fails with `broken` until reset(). reset() also fails the
//   current waiters with `broken`, as in Python.
// Value (start_value<T>, value_client<T>): a shared int64_t or double.
// - get, set, add(delta) answering the new value, compare_and_set(expected,
//   desired). add is atomic in the value's actor, so `counter.add(1)` from many
//   actors needs no lock, unlike Python's Value, where `v.value += 1` needs
//   get_lock(). An int64 add that would overflow fails with invalid_argument;
//   using a Value of the other type fails with type_mismatch.

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/client.hpp>
#include <actorproc/patterns/lock.hpp>
#include <actorproc/sync.capnp.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace actorproc {

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore

struct semaphore_options {
  std::string name = {};
  uint32_t value = 1;  // the initial number of permits
  bool bounded = false;
  bool return_on_death = true;  // a dead holder's permits are freed
};

expected<actor_handle> start_semaphore(node& n, semaphore_options options = {});

struct semaphore_status {
  uint64_t value = 0;
  uint64_t initial = 0;
  bool bounded = false;
  std::size_t waiting = 0;
};

template <class Caller>
class semaphore_client {
 public:
  explicit semaphore_client(Caller caller) : caller_(std::move(caller)) {}
  /// Waits up to `timeout` for a permit; fails with timeout when none came.
  expected<void> acquire(std::chrono::milliseconds timeout = default_timeout) {
    auto granted = ask(true, timeout);
    if (granted && !*granted) return error(errc::timeout, "no permit of the semaphore came within the timeout");
    if (!granted) return granted.error();
    return {};
  }
  /// Answers at once: whether a permit was taken.
  expected<bool> try_acquire() { return ask(false, std::chrono::milliseconds(0)); }
  /// Frees `n` permits; a BoundedSemaphore fails with invalid_argument above its initial value.
  expected<void> release(uint32_t n = 1) {
    return detail::ok(caller_.template request<schema::SemaphoreRelease, schema::SyncOk>(
        [&](schema::SemaphoreRelease::Builder b) { b.setN(n); }, default_timeout));
  }
  expected<semaphore_status> status() {
    return detail::then(detail::simple_request<schema::SemaphoreStat, schema::SemaphoreStatus>(caller_),
                        [](auto& s) -> semaphore_status {
                          return {s.getValue(), s.getInitial(), s.getBounded(), s.getWaiting()};
                        });
  }

 private:
  expected<bool> ask(bool block, std::chrono::milliseconds timeout) {
    return detail::then(detail::timed_request<schema::SemaphoreAcquire, schema::SemaphoreGrant>(
                            caller_, timeout, [&](schema::SemaphoreAcquire::Builder b) { b.setBlock(block); }),
                        [](auto& g) { return g.getGranted(); });
  }
  Caller caller_;
};

inline semaphore_client<from_actor> semaphore_in(context& ctx, actor_ref s) {
  return semaphore_client<from_actor>(direct_caller(ctx, s));
}

// ---------------------------------------------------------------------------
// Event

struct event_options {
  std::string name = {};
};

expected<actor_handle> start_event(node& n, event_options options = {});

struct event_status {
  bool is_set = false;
  std::size_t waiting = 0;
};

template <class Caller>
class event_client {
 public:
  explicit event_client(Caller caller) : caller_(std::move(caller)) {}
  expected<void> set() { return detail::ok(detail::simple_request<schema::EventSet, schema::SyncOk>(caller_)); }
  expected<void> clear() { return detail::ok(detail::simple_request<schema::EventClear, schema::SyncOk>(caller_)); }
  expected<bool> is_set() {
    return detail::then(state<schema::EventStat>(), [](auto& s) { return s.getIsSet(); });
  }
  /// True once the event is set; false when `timeout` passes first.
  expected<bool> wait(std::chrono::milliseconds timeout = default_timeout) {
    return detail::then(detail::timed_request<schema::EventWait, schema::EventState>(caller_, timeout),
                        [](auto& s) { return s.getIsSet(); });
  }
  expected<event_status> status() {
    return detail::then(state<schema::EventStat>(), [](auto& s) -> event_status {
      return {s.getIsSet(), s.getWaiting()};
    });
  }

 private:
  template <class M>
  expected<message<schema::EventState>> state() {
    return detail::simple_request<M, schema::EventState>(caller_);
  }
  Caller caller_;
};

inline event_client<from_actor> event_in(context& ctx, actor_ref e) {
  return event_client<from_actor>(direct_caller(ctx, e));
}

// ---------------------------------------------------------------------------
// Condition

struct condition_options {
  std::string name = {};
};

expected<actor_handle> start_condition(node& n, condition_options options = {});

/// How a condition wait ended; the caller holds the lock again.
struct condition_wakeup {
  bool notified = false;  // false: the timeout passed first (Python's wait() returning False)
  lock_grant lock;        // lock.previous_holder_died: a holder died with the lock meanwhile
};

struct condition_status {
  std::size_t waiting = 0;
  bool held = false;
};

template <class Caller>
class condition_client : public lock_client<Caller> {
 public:
  explicit condition_client(Caller caller) : lock_client<Caller>(std::move(caller)) {}
  /// Releases the lock, waits up to `timeout` for a notify, then waits up to
  /// `reacquire` to hold the lock again (failing with timeout, without the
  /// lock, past that).
  expected<condition_wakeup> wait(std::chrono::milliseconds timeout = default_timeout,
                                  std::chrono::milliseconds reacquire = default_timeout) {
    return detail::then(
        detail::timed_request<schema::ConditionWait, schema::LockGrant>(
            this->caller_, timeout,
            [&](schema::ConditionWait::Builder b) { b.setReacquireMillis(detail::timeout_millis(reacquire)); },
            reacquire),
        [](auto& g) {
          return condition_wakeup{g.getNotified(), detail::grant_of(g)};
        });
  }
  /// Wakes the `n` oldest waits; answers how many were woken.
  expected<std::size_t> notify(uint32_t n = 1) { return wake(n, false); }
  expected<std::size_t> notify_all() { return wake(0, true); }
  expected<condition_status> status() {
    return detail::then(detail::simple_request<schema::ConditionStat, schema::ConditionStatus>(this->caller_),
                        [](auto& s) -> condition_status {
                          return {s.getWaiting(), s.getHeld()};
                        });
  }

 private:
  expected<std::size_t> wake(uint32_t n, bool all) {
    return detail::then(this->caller_.template request<schema::ConditionNotify, schema::ConditionNotified>(
                            [&](schema::ConditionNotify::Builder b) {
                              b.setN(n);
                              b.setAll(all);
                            },
                            default_timeout),
                        [](auto& r) -> std::size_t { return r.getWoken(); });
  }
};

inline condition_client<from_actor> condition_in(context& ctx, actor_ref c) {
  return condition_client<from_actor>(direct_caller(ctx, c));
}

// ---------------------------------------------------------------------------
// Barrier

struct barrier_options {
  std::string name = {};
  uint32_t parties = 0;                                 // required: at least 1
  std::chrono::milliseconds timeout = default_timeout;  // of a wait() that names none
};

/// Fails with invalid_argument when `parties` is 0.
expected<actor_handle> start_barrier(node& n, barrier_options options);

struct barrier_status {
  std::size_t parties = 0;
  std::size_t n_waiting = 0;
  bool broken = false;
  std::chrono::milliseconds timeout{0};
};

template <class Caller>
class barrier_client {
 public:
  explicit barrier_client(Caller caller) : caller_(std::move(caller)) {}
  /// Waits with the barrier's own timeout; answers this caller's arrival index.
  expected<std::size_t> wait() {
    if (!default_timeout_) {
      auto s = status();
      if (!s) return s.error();
      default_timeout_ = s->timeout;
    }
    return wait(*default_timeout_);
  }
  /// Waits up to `timeout`, then breaks the barrier and fails with broken.
  expected<std::size_t> wait(std::chrono::milliseconds timeout) {
    return detail::then(detail::timed_request<schema::BarrierWait, schema::BarrierPassed>(caller_, timeout),
                        [](auto& r) -> std::size_t { return r.getIndex(); });
  }
  expected<void> abort() { return detail::ok(detail::simple_request<schema::BarrierAbort, schema::SyncOk>(caller_)); }
  expected<void> reset() { return detail::ok(detail::simple_request<schema::BarrierReset, schema::SyncOk>(caller_)); }
  expected<barrier_status> status() {
    return detail::then(
        detail::simple_request<schema::BarrierStat, schema::BarrierStatus>(caller_), [](auto& s) -> barrier_status {
          return {s.getParties(), s.getWaiting(), s.getBroken(), std::chrono::milliseconds(s.getTimeoutMillis())};
        });
  }
  expected<std::size_t> parties() { return field(&barrier_status::parties); }
  expected<std::size_t> n_waiting() { return field(&barrier_status::n_waiting); }
  expected<bool> broken() { return field(&barrier_status::broken); }

 private:
  template <class T>
  expected<T> field(T barrier_status::*which) {
    auto s = status();
    if (!s) return s.error();
    return (*s).*which;
  }
  Caller caller_;
  std::optional<std::chrono::milliseconds> default_timeout_;
};

inline barrier_client<from_actor> barrier_in(context& ctx, actor_ref b) {
  return barrier_client<from_actor>(direct_caller(ctx, b));
}

// ---------------------------------------------------------------------------
// Value

template <class T>
struct value_options {
  static_assert(std::is_same_v<T, int64_t> || std::is_same_v<T, double>, "a Value is an int64_t or a double");
  std::string name = {};
  T initial = 0;
};

namespace detail {
expected<actor_handle> spawn_value(node& n, std::string name, std::vector<std::string> args);

template <class T>
void put_scalar(schema::Scalar::Builder s, T v) {
  if constexpr (std::is_same_v<T, int64_t>) {
    s.setInt64(v);
  } else {
    s.setFloat64(v);
  }
}
template <class T>
expected<T> scalar_as(schema::Scalar::Reader s) {
  if constexpr (std::is_same_v<T, int64_t>) {
    if (s.isInt64()) return s.getInt64();
  } else {
    if (s.isFloat64()) return s.getFloat64();
  }
  return error(errc::type_mismatch, "the value is of another type");
}
}  // namespace detail

/// Starts a Value of type T (int64_t or double): start_value<int64_t>(node, {.initial = 5}).
template <class T>
expected<actor_handle> start_value(node& n, value_options<T> options) {
  // The initial value travels as text; a double as its bits, so that it is exact.
  if constexpr (std::is_same_v<T, int64_t>) {
    return detail::spawn_value(n, std::move(options.name), {"int64", std::to_string(options.initial)});
  } else {
    return detail::spawn_value(n, std::move(options.name),
                               {"float64", std::to_string(std::bit_cast<uint64_t>(options.initial))});
  }
}

template <class T, class Caller>
class value_client {
  static_assert(std::is_same_v<T, int64_t> || std::is_same_v<T, double>, "a Value is an int64_t or a double");

 public:
  explicit value_client(Caller caller) : caller_(std::move(caller)) {}
  expected<T> get() { return value_of(ask<schema::ValueGet>(no_fields{})); }
  expected<void> set(T v) {
    return detail::ok(ask<schema::ValueSet>([&](auto b) { detail::put_scalar(b.initValue(), v); }));
  }
  /// Adds `delta` atomically; answers the new value.
  expected<T> add(T delta) {
    return value_of(ask<schema::ValueAdd>([&](auto b) { detail::put_scalar(b.initDelta(), delta); }));
  }
  /// Sets `desired` if the value is `expected` (compared exactly); answers whether it did.
  expected<bool> compare_and_set(T expect, T desired) {
    return detail::then(ask<schema::ValueCompareAndSet>([&](auto b) {
                          detail::put_scalar(b.initExpected(), expect);
                          detail::put_scalar(b.initDesired(), desired);
                        }),
                        [](auto& r) { return r.getSwapped(); });
  }

 private:
  template <class M, class Fill>
  expected<message<schema::ValueIs>> ask(Fill&& fill) {
    return caller_.template request<M, schema::ValueIs>(std::forward<Fill>(fill), default_timeout);
  }
  static expected<T> value_of(expected<message<schema::ValueIs>> r) {
    if (!r) return r.error();
    return detail::scalar_as<T>(r->getValue());
  }
  Caller caller_;
};

template <class T>
value_client<T, from_actor> value_in(context& ctx, actor_ref v) {
  return value_client<T, from_actor>(direct_caller(ctx, v));
}

// ---------------------------------------------------------------------------

/// Registers every synchronization actor type: "actorproc.semaphore",
/// "actorproc.event", "actorproc.condition", "actorproc.barrier", "actorproc.value".
void add_sync(entry_table& actors);

}  // namespace actorproc
