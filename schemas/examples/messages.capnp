@0xc4a1f0e9d3b27a65;
# Messages of the examples, tests and benchmarks.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("demo");

struct Add { by @0 :Int64; }
struct Get {}
struct Count { value @0 :Int64; }

struct Ping { seq @0 :UInt64; payload @1 :Data; }
struct Pong { seq @0 :UInt64; }
struct Start { peer @0 :UInt64; rounds @1 :UInt64; }
struct Done { rounds @0 :UInt64; nanos @1 :UInt64; }

# examples/supervision_tree.cpp: one item on its way source -> transform -> sink,
# with the ids of the stages ahead of it, and the sink's answer.
struct Item { seq @0 :UInt64; value @1 :Int64; transform @2 :UInt64; sink @3 :UInt64; }
struct Ack { delivered @0 :Bool; received @1 :UInt64; sum @2 :Int64; }
struct Url { url @0 :Text; }

# examples/pool.cpp, pool_callbacks.cpp: a task that works for `millis`, and
# what it reports back.
struct Task { name @0 :Text; millis @1 :UInt32; fail @2 :Bool; }
struct TaskDone { name @0 :Text; pid @1 :Int32; }

# examples/file_copy.cpp: copy one file.
struct CopyFile { from @0 :Text; to @1 :Text; }
struct Copied { bytes @0 :UInt64; pid @1 :Int32; }

# examples/crawler.cpp: a fetched page and the links found in it.
struct Page { url @0 :Text; links @1 :List(Text); bytes @2 :UInt64; pid @3 :Int32; }
