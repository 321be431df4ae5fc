#pragma once
// Lock and RLock as actors, like multiprocessing.Lock / RLock, but safe when a
// holder dies.
//
//   actorproc::add_lock(actors);                                  // in main()
//   auto l = actorproc::start_lock(node, {.reentrant = false}).value();
//   // in an actor, with the lock's id from a message or an argument:
//   auto lock = actorproc::lock_in(ctx, {lock_id});
//   auto grant = lock.acquire(5s);      // expected<lock_grant>
//   ... critical section ...
//   lock.release();
//
// Semantics:
// - acquire() waits, in arrival order, up to its timeout; then it fails with
//   timeout. try_acquire() answers at once: granted or not.
// - The lock knows its holder (an actor, or the node). release() by anyone else
//   fails with invalid_argument (Python: RuntimeError on releasing an unlocked
//   lock). A reentrant lock (RLock) may be acquired again by its holder and is
//   free once released as many times.
// - A holder that dies while holding the lock releases it: the next waiter is
//   granted it with previous_holder_died set and the dead holder's exit reason,
//   so it can repair what the dead holder may have left half-done. There is no
//   deadlock on a dead holder, unlike Python.

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/lock.capnp.h>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/queue.hpp>

#include <deque>
#include <set>

namespace actorproc {

struct lock_options {
  std::string name = {};
  bool reentrant = false;
};

class lock_actor {
 public:
  using handles = actorproc::handles<schema::LockAcquire, schema::LockRelease>;
  explicit lock_actor(context& ctx);
  void on(schema::LockAcquire::Reader m, context& ctx);
  void on(schema::LockRelease::Reader m, context& ctx);
  void on_down(actor_ref who, const exit_reason& why, context& ctx);

 private:
  struct waiter {
    uint64_t timer;
    deferred_reply reply;
  };
  void grant(const deferred_reply& to, context& ctx);
  void hand_over(context& ctx);

  bool reentrant_;
  uint64_t holder_ = 0;  // actor id; meaningful only while held
  bool held_ = false;
  std::size_t depth_ = 0;  // reentrant acquisitions
  std::deque<waiter> waiters_;
  std::set<uint64_t> watched_;
  std::optional<std::pair<uint64_t, exit_reason>> died_;  // told to the next holder
};

/// Registers the lock actor type (as "actorproc.lock").
inline void add_lock(entry_table& actors) { actors.add<lock_actor>("actorproc.lock"); }
expected<actor_handle> start_lock(node& n, lock_options options = {});

struct lock_grant {
  bool granted = false;
  bool previous_holder_died = false;
  actor_ref previous_holder;
  std::string previous_holder_reason;
};

template <class Caller>
class lock_client {
 public:
  explicit lock_client(Caller caller) : caller_(std::move(caller)) {}
  /// Waits up to `timeout`; fails with timeout when not granted by then.
  expected<lock_grant> acquire(std::chrono::milliseconds timeout = default_timeout) {
    auto g = ask(true, timeout);
    if (g && !g->granted) return error(errc::timeout, "the lock was not granted within the timeout");
    return g;
  }
  /// Answers at once; `granted` says whether the lock is now held.
  expected<lock_grant> try_acquire() { return ask(false, std::chrono::milliseconds(0)); }
  expected<void> release() {
    return detail::ok(
        caller_.template request<schema::LockRelease, schema::LockReleased>(no_fields{}, default_timeout));
  }

 private:
  static constexpr std::chrono::milliseconds margin{2000};  // the lock answers a timeout itself
  expected<lock_grant> ask(bool block, std::chrono::milliseconds timeout) {
    auto g = caller_.template request<schema::LockAcquire, schema::LockGrant>(
        [&](schema::LockAcquire::Builder b) {
          b.setBlock(block);
          b.setTimeoutMillis(static_cast<uint32_t>(timeout.count()));
        },
        timeout + margin);
    if (!g) return g.error();
    return lock_grant{
        g->getGranted(), g->getPreviousHolderDied(), {g->getPreviousHolder()}, g->getPreviousHolderReason()};
  }
  Caller caller_;
};

/// The lock `l` as seen from inside an actor.
inline lock_client<from_actor> lock_in(context& ctx, actor_ref l) {
  return lock_client<from_actor>(from_actor{ctx, l});
}

}  // namespace actorproc
