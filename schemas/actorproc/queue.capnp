@0xe0c2e6b1a3d95f47;
# The queue actor's protocol (libactorproc/patterns/queue.hpp).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

struct QueuePut {
  itemType @0 :UInt64;      # capnp::typeId of the struct in `item`
  item @1 :AnyPointer;
  block @2 :Bool;           # wait for room (up to timeoutMillis) or fail at once with queue_full
  timeoutMillis @3 :UInt32;
}

struct QueueGet {
  block @0 :Bool;           # wait for an item (up to timeoutMillis) or fail at once with queue_empty
  timeoutMillis @1 :UInt32;
}

struct QueueItem {
  itemType @0 :UInt64;
  item @1 :AnyPointer;
  ticket @2 :UInt64;        # joinable queues: what task_done() acknowledges
}

struct QueueTaskDone { ticket @0 :UInt64; }  # 0: the oldest item this consumer has not acknowledged
struct QueueJoin {}
struct QueueClose {}
struct QueueStat {}
struct QueueStatus {
  size @0 :UInt32;
  maxsize @1 :UInt32;
  closed @2 :Bool;
  unfinished @3 :UInt32;    # joinable: items put and not yet acknowledged
  redelivered @4 :UInt64;   # joinable: items given again after their consumer died
}
struct QueueOk {}
