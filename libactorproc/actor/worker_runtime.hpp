#pragma once
// The worker runtime's entry points, for worker.cpp (which decides how a
// process becomes a worker). Internal.

#include <actorproc/actor/entry_table.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/process/launch.hpp>
#include <actorproc/wire/limits.hpp>

#include <string>
#include <vector>

namespace actorproc::detail {

/// Constructs the actor `request` names and serves `mailbox` until it stops;
/// returns the status to exit with.
int run_actor(const entry_table& actors, const process::launch_request& request, unique_fd mailbox,
              std::vector<unique_fd> extra_fds, const wire::limits& limits);

/// Announces launch_failed with `why` on `mailbox` without starting an actor;
/// returns the status to exit with.
int refuse_launch(const process::launch_request& request, unique_fd mailbox, const std::string& why);

}  // namespace actorproc::detail
