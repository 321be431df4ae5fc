#pragma once
// How an actor process is started.
//
// Two start methods, like Python's forkserver and spawn:
// - `zygote` (default): the zygote, a single-threaded fork server created with the
//   node, forks a worker. Fast (no exec, no dynamic linking, pages shared
//   copy-on-write with the zygote) and safe, because the zygote never has threads
//   whose locks a child could inherit.
// - `exec`: the zygote forks and re-executes this program (/proc/self/exe) or
//   `program` in worker mode, for a clean address space or a different binary.
//   That binary must call actorproc::run_if_worker() first thing in main().
//
// Either way the child's parent is the node itself (the zygote forks with
// CLONE_PARENT), so the node reaps it, and the node watches it through a pidfd:
// a reused PID can never be signalled.

#include <actorproc/base/unique_fd.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace actorproc {

enum class start_method : uint8_t { zygote, exec };

namespace process {

struct launch_request {
  std::string actor_type;
  std::string name;
  uint64_t id = 0;
  std::vector<std::string> args;
  start_method method = start_method::zygote;
  std::string program;  // exec only; empty means this program
};

/// What the node gets for a started child: it owns both descriptors.
struct launched_process {
  pid_t pid = -1;
  unique_fd pidfd;
};

/// Command-line switches of a worker started by exec. The child's mailbox is fd 3.
inline constexpr const char* worker_switch = "--actorproc-worker";
inline constexpr int exec_mailbox_fd = 3;

/// Set, to the node's pid, in the environment of a worker started by exec. A
/// node constructed in such a process belongs to a main() that forgot
/// run_if_worker(): it fails that spawn with launch_failed instead of starting
/// (and recursing). run_if_worker() removes it, so that what a worker starts
/// (a port's command) does not inherit it, and commands never get it.
inline constexpr const char* worker_env = "ACTORPROC_EXEC_WORKER";

}  // namespace process
}  // namespace actorproc
