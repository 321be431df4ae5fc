#pragma once
// Whether this process may fork its zygote now. Internal.
//
// fork() copies only the calling thread. Every lock that another thread holds at
// that moment (a malloc arena's, stdio's, a logger's, any library's) is copied
// held, and nothing in the child will ever release it: a worker that needs it
// blocks forever, silently. The node forks its zygote in its constructor, so that
// is when the process must have no other thread.

#include <cstddef>
#include <optional>
#include <string>

namespace actorproc::process::detail {

/// Threads of this process now (the entries of /proc/self/task), once threads
/// that were just joined have had up to 100 ms to finish exiting.
std::size_t thread_count();

/// Why forking a process with `threads` threads is unsafe; nullopt when it is
/// safe (a single thread).
std::optional<std::string> fork_hazard(std::size_t threads);

}  // namespace actorproc::process::detail
