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
