@0xe9220ff0748b952a;
# The synchronization actors' protocol (libactorproc/patterns/sync.hpp):
# Semaphore and BoundedSemaphore, Event, Condition, Barrier, and Value.
# Blocking requests carry their timeout; the actor answers them itself when it
# passes.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

# The answer of a request that returns nothing.
struct SyncOk {}

# Semaphore and BoundedSemaphore.
struct SemaphoreAcquire {
  block @0 :Bool;           # wait (up to timeoutMillis) or answer at once
  timeoutMillis @1 :UInt32;
}
struct SemaphoreGrant { granted @0 :Bool; }    # false: no permit (non-blocking, or timed out)
struct SemaphoreRelease { n @0 :UInt32 = 1; }  # answered with SyncOk
struct SemaphoreStat {}
struct SemaphoreStatus {
  value @0 :UInt64;         # free permits
  initial @1 :UInt64;
  bounded @2 :Bool;
  waiting @3 :UInt32;       # blocked acquires
}

# Event.
struct EventSet {}                                # answered with SyncOk
struct EventClear {}                              # answered with SyncOk
struct EventWait { timeoutMillis @0 :UInt32; }    # answered with EventState once set, or at the timeout
struct EventStat {}                               # answered with EventState
struct EventState {
  isSet @0 :Bool;
  waiting @1 :UInt32;
}

# Condition: its lock speaks the lock protocol (LockAcquire, LockRelease in
# lock.capnp), and a wait is answered with a LockGrant whose `notified` is set
# when notify() woke it.
struct ConditionWait {
  timeoutMillis @0 :UInt32;    # how long to wait for a notify
  reacquireMillis @1 :UInt32;  # then how long to wait for the lock again
}
struct ConditionNotify {
  n @0 :UInt32 = 1;
  all @1 :Bool;
}
struct ConditionNotified { woken @0 :UInt32; }
struct ConditionStat {}
struct ConditionStatus {
  waiting @0 :UInt32;       # waits not yet notified nor timed out
  held @1 :Bool;
}

# Barrier.
struct BarrierWait { timeoutMillis @0 :UInt32; }
struct BarrierPassed { index @0 :UInt32; }         # 0 for the first to arrive, parties - 1 for the last
struct BarrierAbort {}                             # answered with SyncOk
struct BarrierReset {}                             # answered with SyncOk
struct BarrierStat {}
struct BarrierStatus {
  parties @0 :UInt32;
  waiting @1 :UInt32;
  broken @2 :Bool;
  timeoutMillis @3 :UInt32;   # the default timeout of a wait
}

# Value: a shared scalar of one kind, fixed when it starts.
struct Scalar {
  union {
    int64 @0 :Int64;
    float64 @1 :Float64;
  }
}
struct ValueGet {}                                  # answered with ValueIs
struct ValueSet { value @0 :Scalar; }               # answered with ValueIs
struct ValueAdd { delta @0 :Scalar; }               # answered with ValueIs: the new value
struct ValueCompareAndSet {                         # answered with ValueIs
  expected @0 :Scalar;
  desired @1 :Scalar;
}
struct ValueIs {
  value @0 :Scalar;         # the value once the operation is done
  swapped @1 :Bool;         # compare-and-set: whether it was set
}
