@0xd07e7a1f6c4b2e93;
# The lock actor's protocol (libactorproc/patterns/lock.hpp).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

struct LockAcquire {
  block @0 :Bool;           # wait (up to timeoutMillis) or answer at once
  timeoutMillis @1 :UInt32;
}

struct LockGrant {
  granted @0 :Bool;                 # false: not acquired (non-blocking, or timed out)
  previousHolderDied @1 :Bool;      # the lock was taken from a holder that died holding it
  previousHolder @2 :UInt64;
  previousHolderReason @3 :Text;
  notified @4 :Bool;                # a condition's wait: woken by notify (false: its timeout passed)
}

struct LockRelease {}
struct LockReleased {}
