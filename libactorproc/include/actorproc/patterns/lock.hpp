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
//   lock). release_nowait() releases one-way, a round trip fewer: what the
//   holder changed elsewhere must be confirmed before it (a dict's set is a
//   request), and a refused one is only logged by the lock. A reentrant lock (RLock) may be acquired again by its holder and is
//   free once released as many times.
// - A holder that dies while holding the lock releases it: the next waiter is
//   granted it with previous_holder_died set and the dead holder's exit reason,
//   so it can repair what the dead holder may have left half-done. There is no
//   deadlock on a dead holder, unlike Python.

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/lock.capnp.h>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/client.hpp>

#include <string>

namespace actorproc {

struct lock_options {
  std::string name = {};
  bool reentrant = false;
};

/// Registers the lock actor type (as "actorproc.lock").
void add_lock(entry_table& actors);
expected<actor_handle> start_lock(node& n, lock_options options = {});

struct lock_grant {
  bool granted = false;
  bool previous_holder_died = false;
  actor_ref previous_holder;
  std::string previous_holder_reason;
};

namespace detail {
inline lock_grant grant_of(schema::LockGrant::Reader g) {
  return {g.getGranted(), g.getPreviousHolderDied(), {g.getPreviousHolder()}, g.getPreviousHolderReason()};
}
}  // namespace detail

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
  /// Only the holder may release; anyone else fails with invalid_argument.
  expected<void> release() {
    return detail::ok(detail::simple_request<schema::LockRelease, schema::LockReleased>(caller_));
  }
  /// release() one-way: returns once sent, without waiting for the lock's
  /// answer (one round trip fewer per critical section). The lock handles it
  /// in order after this client's earlier messages to it. Nobody hears of a
  /// refusal (a release by a non-holder): the lock logs it on stderr.
  expected<void> release_nowait() { return caller_.template send<schema::LockRelease>(no_fields{}, default_timeout); }

 private:
  expected<lock_grant> ask(bool block, std::chrono::milliseconds timeout) {
    return detail::then(detail::timed_request<schema::LockAcquire, schema::LockGrant>(
                            caller_, timeout, [&](schema::LockAcquire::Builder b) { b.setBlock(block); }),
                        [](auto& g) { return detail::grant_of(g); });
  }

 protected:
  Caller caller_;  // condition_client adds its waits to the lock's operations
};

/// The lock `l` as seen from inside an actor.
inline lock_client<from_actor> lock_in(context& ctx, actor_ref l) {
  return lock_client<from_actor>(direct_caller(ctx, l));
}

}  // namespace actorproc
