#pragma once
// Starting an external command with its stdin and stdout on pipes. Internal:
// used by the port actor (inside a worker) and by run_command (in any thread).
//
// The command is fork()ed and exec()ed by hand, because its child must set
// PR_SET_PDEATHSIG (posix_spawn cannot): it dies with whoever started it. Between
// fork and exec the child makes only async-signal-safe calls, so this is safe in
// a multi-threaded process too. Every descriptor the caller gets is
// close-on-exec, and the child inherits its three stdio descriptors only.
// Failure to exec (or to chdir) is reported back through a close-on-exec pipe.
//
// The command leads a process group of its own (its pid is the group's id),
// and what it starts stays in that group unless it leaves on purpose (setsid).
// stop_command() signals the whole group, so no grandchild outlives the command
// in our hands. A group id is a pid, so signalling a group is safe only while
// one of its members is our unreaped child: besides the command, a small guard
// process (our child too) sits in the group until stop_command() reaps it. It
// also kills the group if the process that started the command dies (a port
// that is SIGKILLed runs no destructor), since it then sees its pipe close.
//
// WARNING: PR_SET_PDEATHSIG fires when the *thread* that started the command
// exits. Start a command from a thread that outlives it (run_command waits for
// its command; a worker is single-threaded).

#include <actorproc/base/exit_reason.hpp>
#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace actorproc::process::detail {

/// Where the command's stderr goes.
enum class stderr_to : uint8_t { inherit, discard, stdout_pipe, own_pipe };

struct command_spec {
  std::vector<std::string> argv;                // argv[0] is searched in PATH unless it has a '/'
  std::optional<std::vector<std::string>> env;  // "KEY=value" each; nullopt: this process's environment
  std::string cwd;                              // empty: this process's
  stderr_to err = stderr_to::inherit;
};

/// A running command: its pidfd and the caller's ends of its pipes, all
/// close-on-exec and non-blocking; and the guard of its process group.
struct command_child {
  pid_t pid = -1;  // also the id of its process group
  unique_fd pidfd;
  unique_fd in;   // its stdin (write end)
  unique_fd out;  // its stdout (read end)
  unique_fd err;  // its stderr (read end), with stderr_to::own_pipe only
  pid_t guard_pid = -1;
  unique_fd guard;       // the guard's pidfd
  unique_fd guard_line;  // the guard kills the group once this end of its pipe is closed
};

/// fork + exec. Fails with invalid_argument (empty argv), launch_failed ("cannot
/// execute 'x': No such file or directory", or a bad cwd) or system_error.
expected<command_child> spawn_command(const command_spec& spec);

/// write(2) that cannot raise SIGPIPE in this process, whatever its signal
/// disposition: a reader that is gone yields -1 with errno EPIPE.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size);

/// SIGTERM to the command's process group, up to `grace` for the command to
/// exit, then SIGKILL to whatever is left of the group (the command, and its
/// descendants); reaps the command and the guard. A `grace` of zero sends
/// SIGKILL at once. After wait_command(), this ends what the command left
/// behind in its group.
void stop_command(command_child& child, std::chrono::milliseconds grace);

/// Waits up to `timeout` for the command to exit; reaps it (its group stays
/// guarded until stop_command()). nullopt if it has not exited by then.
std::optional<exit_reason> wait_command(command_child& child, std::chrono::milliseconds timeout);

}  // namespace actorproc::process::detail
