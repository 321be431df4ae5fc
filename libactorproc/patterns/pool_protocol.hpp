#pragma once
// The messages of the pool's dispatcher (pool_dispatcher.hpp): what user
// threads, the reactor's callbacks and the dispatcher itself send it. Not installed.
//
// CAF 0.17 refuses a type in a message unless it is inspectable or declared
// safe to pass by copy inside one process: these are allowed with
// CAF_ALLOW_UNSAFE_MESSAGE_TYPE because they never leave the node (they hold
// shared_ptrs to futures and answers). A pool spanning nodes would need its
// own serializable protocol; that is out of scope here.

#include "pool_dispatcher.hpp"

#include <actorproc/pool.capnp.h>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace actorproc::detail {

/// Tasks for the queue. Sent one-way when the submitter found room (it has
/// counted them in pool_shared::admitted), or as a request with room_atom
/// when it did not: the dispatcher answers once it has queued or refused them.
struct pool_submission {
  std::shared_ptr<pool_chunk> chunk;
};

/// A worker's answer to the chunk it was sent (from request_async's callback).
struct pool_answer {
  uint64_t worker = 0;
  expected<std::shared_ptr<const message<schema::PoolDone>>> answer = error(errc::no_reply);
};

/// A worker's exit (from actor_handle::monitor's callback).
struct pool_exit {
  uint64_t worker = 0;
  exit_reason reason;
};

/// future::cancel on a queued task: answered true if it was removed (and resolved) in time.
struct pool_cancel {
  std::weak_ptr<pool_chunk> chunk;
  const void* which = nullptr;  // the task's future_state
};

/// join's answer: refused (join before close), or the workers for the
/// joiner to stop and wait for, once every task is resolved.
struct pool_leave {
  std::optional<error> refused;
  std::vector<actor_handle> workers;
};

using pool_room_atom = caf::atom_constant<caf::atom("pl_room")>;
using pool_expire_atom = caf::atom_constant<caf::atom("pl_expire")>;
using pool_close_atom = caf::atom_constant<caf::atom("pl_close")>;
using pool_terminate_atom = caf::atom_constant<caf::atom("pl_term")>;
using pool_join_atom = caf::atom_constant<caf::atom("pl_join")>;
using pool_stats_atom = caf::atom_constant<caf::atom("pl_stats")>;
using pool_workers_atom = caf::atom_constant<caf::atom("pl_workers")>;

}  // namespace actorproc::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::detail::pool_submission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::detail::pool_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::detail::pool_exit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::detail::pool_cancel)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::detail::pool_leave)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::pool_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorproc::actor_handle>)
