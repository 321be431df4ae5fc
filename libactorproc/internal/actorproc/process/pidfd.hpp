#pragma once
// Process handles that cannot be confused with a reused PID.

#include <actorproc/base/exit_reason.hpp>
#include <actorproc/base/unique_fd.hpp>

#include <sys/types.h>

#include <optional>

namespace actorproc::process {

/// pidfd_open(2). Invalid when the process is gone (or the kernel is older than 5.3).
unique_fd open_pidfd(pid_t pid);

/// Signals the process behind `pidfd`; false if it has already exited.
bool signal_process(int pidfd, int signal);

/// Reaps the exited child behind `pidfd` (waitid P_PIDFD). Returns nullopt while
/// it is still running. The result is the kernel's view: exit code or signal.
std::optional<exit_reason> try_reap(int pidfd);

/// Blocks until the child behind `pidfd` exits and reaps it.
exit_reason reap(int pidfd);

}  // namespace actorproc::process
