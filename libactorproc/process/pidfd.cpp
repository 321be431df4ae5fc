#include <actorproc/process/pidfd.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace actorproc::process {

unique_fd open_pidfd(pid_t pid) { return unique_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

bool signal_process(int pidfd, int signal) {
  if (pidfd < 0) return false;
  return ::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) == 0;
}

namespace {

std::optional<exit_reason> wait_pidfd(int pidfd, int flags) {
  siginfo_t info{};
  for (;;) {
    int rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | flags);
    if (rc == 0) break;
    if (errno == EINTR) continue;
    // ECHILD: someone else reaped it (see the zygote.hpp warning); the status is lost.
    return exit_reason::because(exit_reason::kind::exit_code, "exit status lost: the child was reaped elsewhere");
  }
  if (info.si_pid == 0) return std::nullopt;  // WNOHANG and still running
  switch (info.si_code) {
    case CLD_EXITED:
      return info.si_status == 0 ? exit_reason::normal() : exit_reason::exited(info.si_status);
    case CLD_DUMPED:
      return exit_reason::killed(info.si_status, true);
    default:
      return exit_reason::killed(info.si_status, false);
  }
}

}  // namespace

std::optional<exit_reason> try_reap(int pidfd) { return wait_pidfd(pidfd, WNOHANG); }

exit_reason reap(int pidfd) { return *wait_pidfd(pidfd, 0); }

}  // namespace actorproc::process
