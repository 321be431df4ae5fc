@0xb4c1d2e3f5a69788;
# The pool's protocol between its dispatcher (in the node) and its worker
# actors (libactorproc/patterns/pool.hpp). One PoolRun carries a chunk of tasks
# (map's chunksize); the worker answers with one outcome per task, in order.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

struct PoolTask {
  taskType @0 :UInt64;     # capnp::typeId of the struct in `input`: selects the function
  input @1 :AnyPointer;
}

struct PoolRun { tasks @0 :List(PoolTask); }

struct PoolOutcome {
  resultType @0 :UInt64;   # capnp::typeId of the struct in `value`
  value @1 :AnyPointer;
  failed @2 :Bool;         # the function threw, or no function takes this task type
  code @3 :UInt16;         # errc, when failed
  message @4 :Text;
}

struct PoolDone { outcomes @0 :List(PoolOutcome); }
