#pragma once
// pool_worker: the actor that runs a pool's tasks, one process each. Only the
// library names it (add_pool registers it), so this header is not installed.
//
// It answers each PoolRun (one chunk) with one PoolDone holding every task's
// outcome, in order. A task that throws, or whose type no function takes, is
// that task's failure; the worker carries on (Python's rule). A crash of the
// worker is the dispatcher's business (pool_dispatcher.hpp).

#include <actorproc/actor/context.hpp>
#include <actorproc/patterns/pool_functions.hpp>
#include <actorproc/pool.capnp.h>

#include <memory>

namespace actorproc::detail {

class pool_worker {
 public:
  using handles = actorproc::handles<schema::PoolRun>;
  /// Runs the table's initializer with the spawn's args; throwing fails the start.
  pool_worker(context& ctx, const std::shared_ptr<const pool_functions>& functions);
  void on(schema::PoolRun::Reader run, context& ctx);

 private:
  std::shared_ptr<const pool_functions> functions_;
};

}  // namespace actorproc::detail
