#pragma once
// The zygote: a single-threaded fork server.
//
// Forking a process that has threads is unsafe: the child gets a copy of every
// lock as it was, and a lock held by another thread stays held forever. The node
// runs CAF's thread pool, so it never forks workers itself. Instead, when the node
// is created (before any thread starts), it forks the zygote, which holds the
// program's registered actor types and forks a worker whenever the node asks.
//
// The zygote forks with clone3(CLONE_PARENT | CLONE_PIDFD): the worker becomes
// the node's child, not the zygote's, so the node reaps it, and the pidfd comes
// back to the node over the control socket.
//
// WARNING: create the zygote (that is, the node) on the main thread, while the
// program has no other threads; the node refuses otherwise (see
// node_options::allow_other_threads). A worker is killed when the thread that
// created the zygote exits (PR_SET_PDEATHSIG follows the creating thread).
// The zygote and its workers start with default signal dispositions and an
// empty signal mask, whatever the host had.
// WARNING: do not reap children with waitpid(-1, ...) elsewhere in the program:
// that would steal the node's children and their exit statuses.

#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/process/launch.hpp>

#include <functional>
#include <memory>
#include <mutex>

namespace actorproc::process {

class zygote {
 public:
  /// What a forked child runs: returns its exit status. It gets its mailbox socket
  /// and any extra descriptors; every other descriptor is already closed.
  using child_main = std::function<int(const launch_request&, unique_fd mailbox, std::vector<unique_fd> extra)>;

  /// Forks the zygote now. `body` is what each zygote-started child runs.
  static expected<zygote> start(child_main body);

  zygote(zygote&&) noexcept;
  zygote& operator=(zygote&&) noexcept;
  ~zygote();

  /// Starts one child with `mailbox` as its end of the mailbox socketpair.
  /// Thread-safe; requests are served one at a time.
  expected<launched_process> launch(const launch_request& request, unique_fd mailbox,
                                    std::vector<unique_fd> extra_fds = {});

  pid_t pid() const { return pid_; }

 private:
  zygote(pid_t pid, unique_fd pidfd, unique_fd control);

  pid_t pid_ = -1;
  unique_fd pidfd_;
  unique_fd control_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

}  // namespace actorproc::process
