@0xe0c2e6b1a3d95f47;
# The queue actor's protocol (libactorproc/patterns/queue.hpp).
#
# A client is one queue_client object: `client` numbers it within its process
# (the sender id tells processes apart; every node-side client has sender 0).
# Puts are one-way, each spending a credit that the queue granted against free
# room; gets fetch a bounded batch that the client hands out one by one.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

# Asks for up to `want` credits (one put each): answered with QueueCredit once
# at least one is free, or with queue_full (at once, or after timeoutMillis).
struct QueueReserve {
  client @0 :UInt64;
  want @1 :UInt32;
  block @2 :Bool;
  timeoutMillis @3 :UInt32;
}
struct QueueCredit { granted @0 :UInt32; }

# One-way: an item, put with one of the client's credits.
struct QueuePut {
  client @0 :UInt64;
  itemType @1 :UInt64;      # capnp::typeId of the struct in `item`
  item @2 :AnyPointer;
}

# Asks for up to `max` items: answered with a QueueBatch of at least one, or
# with queue_empty / queue_closed. It also says that the client has handed out
# every item of its earlier batches.
struct QueueGet {
  client @0 :UInt64;
  max @1 :UInt32;
  block @2 :Bool;
  timeoutMillis @3 :UInt32;
}
struct QueueEntry {
  itemType @0 :UInt64;
  item @1 :AnyPointer;
  ticket @2 :UInt64;        # joinable queues: what task_done() acknowledges
}
struct QueueBatch { items @0 :List(QueueEntry); }

# Acknowledges `ticket`: one-way when the client handed that ticket out itself,
# else a request answered with QueueOk or invalid_argument. A one-way notice
# acknowledges `count` consecutive tickets from `ticket` on: a client's run of
# task_done() calls before the notice leaves is one message (queue.hpp).
struct QueueTaskDone { client @0 :UInt64; ticket @1 :UInt64; count @2 :UInt32 = 1; }

# One-way, from a client going away: its `credits` unused credits, and the last
# `unused` items of its batch that it never handed out (back to the front).
struct QueueRelease { client @0 :UInt64; credits @1 :UInt32; unused @2 :UInt32; }

struct QueueJoin {}
struct QueueClose {}
struct QueueStat {}
struct QueueStatus {
  size @0 :UInt32;          # items queued, not counting those fetched by clients
  maxsize @1 :UInt32;
  closed @2 :Bool;
  unfinished @3 :UInt32;    # joinable: items put and not yet acknowledged
  redelivered @4 :UInt64;   # items given again after the client that had fetched them died
  credits @5 :UInt32;       # credits granted and not yet spent: size + credits <= maxsize
  fetched @6 :UInt32;       # items in clients' batches, not yet known to be handed out
}
struct QueueOk {}
