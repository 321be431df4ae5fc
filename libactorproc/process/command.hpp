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
/// close-on-exec and non-blocking.
struct command_child {
  pid_t pid = -1;
  unique_fd pidfd;
  unique_fd in;   // its stdin (write end)
  unique_fd out;  // its stdout (read end)
  unique_fd err;  // its stderr (read end), with stderr_to::own_pipe only
};

/// fork + exec. Fails with invalid_argument (empty argv), launch_failed ("cannot
/// execute 'x': No such file or directory", or a bad cwd) or system_error.
expected<command_child> spawn_command(const command_spec& spec);

/// write(2) that cannot raise SIGPIPE in this process, whatever its signal
/// disposition: a reader that is gone yields -1 with errno EPIPE.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size);

/// SIGTERM, up to `grace` for the command to exit, then SIGKILL; reaps it. A
/// `grace` of zero sends SIGKILL at once. No effect on a command already reaped.
void stop_command(command_child& child, std::chrono::milliseconds grace);

/// Waits up to `timeout` for the command to exit; reaps it. nullopt if it has not
/// exited by then.
std::optional<exit_reason> wait_command(command_child& child, std::chrono::milliseconds timeout);

}  // namespace actorproc::process::detail
