#pragma once
// What every freshly forked child does before running anything else. Internal.

#include <sys/types.h>

#include <vector>

namespace actorproc::process::detail {

/// Dies with SIGKILL when the node dies, and closes the race where the node died
/// before the request was made (the parent would then already be someone else).
/// Returns false if the node is already gone.
bool die_with_parent(pid_t node_pid);

/// Closes every descriptor >= 3 except those in `keep` (which may be unsorted).
void close_all_except(std::vector<int> keep);

/// Default signal dispositions and an empty signal mask: a child must not inherit
/// the node's choices (an ignored SIGTERM would defeat the stop ladder).
void reset_signals();

}  // namespace actorproc::process::detail
