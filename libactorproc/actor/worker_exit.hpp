#pragma once
// How a worker's end becomes what the node sees. Internal to the worker runtime.
//
// A worker ends in two ways at once: it announces a reason (the exit frame),
// and it exits with a status the kernel reports. The node trusts the
// announcement, but the status says the same in case the announcement is lost
// (a full socket, a node that stopped reading). These rules say which reason an
// exception escaping actor code gives ("let it crash"), and which status goes
// with a reason.

#include <actorproc/base/exit_reason.hpp>

#include <exception>

namespace actorproc::detail {

/// The reason an exception escaping actor code ends the actor with. An
/// allocation that failed (std::bad_alloc: the kernel refused memory, under a
/// limit such as RLIMIT_AS or RLIMIT_DATA or without one) is `oom`; any other
/// exception, std::bad_array_new_length included (a size that overflowed, not
/// memory refused), is `exception`. `detail` has the exception's text.
exit_reason crash_reason(std::exception_ptr escaped);

/// The exit status that says the same as `reason` (worker_status, the shell's
/// 128 + signal, or the code itself).
int exit_status_for(const exit_reason& reason);

}  // namespace actorproc::detail
