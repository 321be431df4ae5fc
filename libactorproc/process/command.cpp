#include <actorproc/process/command.hpp>

#include "child_setup.hpp"

#include <actorproc/process/pidfd.hpp>
#include <actorproc/wire/blocking_io.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace actorproc::process::detail {
namespace {

// What the child reports through the close-on-exec pipe when it cannot exec.
struct exec_failure {
  enum stage : int { chdir = 1, exec = 2 } at;
  int error;
};

// Everything the child needs, built before fork: after it, the child of a
// multi-threaded process must not allocate.
struct prepared {
  std::vector<std::string> candidates;  // where argv[0] may be, in PATH order
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* cwd = nullptr;
  pid_t parent = 0;
};

std::string search_path(const command_spec& spec) {
  if (spec.env) {
    for (const auto& entry : *spec.env) {
      if (entry.starts_with("PATH=")) return entry.substr(5);
    }
    return "/bin:/usr/bin";  // glibc's default when PATH is unset
  }
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "/bin:/usr/bin";
}

std::vector<std::string> candidates(const command_spec& spec) {
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) return {name};
  std::vector<std::string> out;
  std::string path = search_path(spec);
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    out.push_back((dir.empty() ? std::string(".") : dir) + "/" + name);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

// Moves `fd` to a number >= 3 (close-on-exec), so that placing the stdio
// descriptors at 0..2 never overwrites one that is still to be placed.
int above_stdio(int fd) { return fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 3); }

void report(int pipe, exec_failure::stage at, int error) {
  exec_failure failure{at, error};
  (void)!::write(pipe, &failure, sizeof failure);
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const prepared& p, stderr_to err_mode, int in, int out, int err, int devnull,
                             int report_pipe) {
  if (!die_with_parent(p.parent)) ::_exit(127);
  reset_signals();
  ::setpgid(0, 0);  // a group of its own, for its descendants too (the parent does the same, first come)
  in = above_stdio(in);
  out = above_stdio(out);
  err = above_stdio(err);
  devnull = above_stdio(devnull);
  report_pipe = above_stdio(report_pipe);
  ::dup2(in, 0);  // dup2 clears close-on-exec: exactly 0, 1 and 2 are inherited
  ::dup2(out, 1);
  switch (err_mode) {
    case stderr_to::inherit:
      break;
    case stderr_to::discard:
      ::dup2(devnull, 2);
      break;
    case stderr_to::stdout_pipe:
      ::dup2(1, 2);
      break;
    case stderr_to::own_pipe:
      ::dup2(err, 2);
      break;
  }
  // Everything but stdio and the report pipe goes (the report pipe at exec).
  if (report_pipe > 3) ::syscall(SYS_close_range, 3U, static_cast<unsigned>(report_pipe) - 1, 0U);
  ::syscall(SYS_close_range, static_cast<unsigned>(report_pipe) + 1, ~0U, 0U);

  if (p.cwd != nullptr && ::chdir(p.cwd) != 0) {
    report(report_pipe, exec_failure::chdir, errno);
    ::_exit(127);
  }
  int error = ENOENT;
  for (const auto& candidate : p.candidates) {
    ::execve(candidate.c_str(), p.argv.data(), p.envp.empty() ? environ : const_cast<char**>(p.envp.data()));
    // As execvp: a missing entry tries the next directory; a permission problem
    // is remembered (it is the better message); anything else ends the search.
    if (errno == EACCES) {
      error = EACCES;
    } else if (errno != ENOENT && errno != ENOTDIR) {
      error = errno;
      break;
    }
  }
  report(report_pipe, exec_failure::exec, error);
  ::_exit(127);
}

// The guard, in its own child process: async-signal-safe calls only. It joins
// the command's group, waits until the other end of `line` closes (stop_command,
// or the death of the process that started the command), then kills the group,
// itself included.
[[noreturn]] void guard_group(pid_t group, int line) {
  ::prctl(PR_SET_NAME, "actorproc-guard");
  reset_signals();
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) ::sigaction(s, &ignore, nullptr);  // it outlasts the group's stop
  if (::setpgid(0, group) != 0) ::_exit(0);  // no such group any more: nothing to guard
  // Nothing but its end of the pipe: it must hold open none of the command's
  // pipes, nor the starter's stdio, nor another guard's pipe.
  if (line > 0) ::syscall(SYS_close_range, 0U, static_cast<unsigned>(line) - 1, 0U);
  ::syscall(SYS_close_range, static_cast<unsigned>(line) + 1, ~0U, 0U);
  char byte;
  while (::read(line, &byte, 1) < 0 && errno == EINTR) {
  }
  ::kill(0, SIGKILL);
  ::_exit(0);
}

expected<void> start_guard(command_child& child) {
  int line[2];
  if (::pipe2(line, O_CLOEXEC) != 0) return error(errc::system_error, std::string("pipe2: ") + std::strerror(errno));
  unique_fd read_end(line[0]), write_end(line[1]);
  pid_t pid = ::fork();
  if (pid < 0) return error(errc::system_error, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) guard_group(child.pid, read_end.get());
  ::setpgid(pid, child.pid);  // as the guard does: in the group before anyone relies on it
  child.guard_pid = pid;
  child.guard = open_pidfd(pid);  // our unreaped child: its pid cannot be reused yet
  child.guard_line = std::move(write_end);
  return {};
}

// Signals the command's whole group, if that is safe: one of its members must
// be our unreaped child (the command, or the guard while it is in the group),
// which keeps the group's id from being reused.
void signal_group(const command_child& child, int signo) {
  bool held = child.pidfd || (child.guard && ::getpgid(child.guard_pid) == child.pid);
  if (held) ::kill(-child.pid, signo);
}

expected<void> make_pipe(unique_fd& read_end, unique_fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return error(errc::system_error, std::string("pipe2: ") + std::strerror(errno));
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return {};
}

void set_nonblocking(const unique_fd& fd) {
  if (fd) ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
}

}  // namespace

expected<command_child> spawn_command(const command_spec& spec) {
  if (spec.argv.empty()) return error(errc::invalid_argument, "a command needs at least argv[0]");
  prepared p;
  p.candidates = candidates(spec);
  std::vector<std::string> argv_copy = spec.argv;
  for (auto& a : argv_copy) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  std::vector<std::string> env_copy = spec.env.value_or(std::vector<std::string>{});
  if (spec.env) {
    for (auto& e : env_copy) p.envp.push_back(e.data());
    p.envp.push_back(nullptr);  // an empty environment is still a list
  }
  if (!spec.cwd.empty()) p.cwd = spec.cwd.c_str();
  p.parent = ::getpid();

  command_child child;
  unique_fd child_in, child_out, child_err, devnull, report_read, report_write;
  for (auto [r, w] :
       {std::pair{&child_in, &child.in}, std::pair{&child.out, &child_out}, std::pair{&report_read, &report_write}}) {
    if (auto made = make_pipe(*r, *w); !made) return made.error();
  }
  if (spec.err == stderr_to::own_pipe) {
    if (auto made = make_pipe(child.err, child_err); !made) return made.error();
  }
  if (spec.err == stderr_to::discard) devnull.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));

  pid_t pid = ::fork();
  if (pid < 0) return error(errc::system_error, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    exec_child(p, spec.err, child_in.get(), child_out.get(), child_err.get(), devnull.get(), report_write.get());
  }
  child.pid = pid;
  child.pidfd = open_pidfd(pid);  // our unreaped child: its pid cannot be reused yet
  ::setpgid(pid, pid);            // as the child does; fails harmlessly once it has exec'd
  report_write.reset();
  child_in.reset();
  child_out.reset();
  child_err.reset();

  exec_failure failure{};
  ssize_t got;
  do {
    got = ::read(report_read.get(), &failure, sizeof failure);  // EOF at a successful exec
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    reap(child.pidfd.get());
    std::string what = failure.at == exec_failure::chdir
                           ? "cannot change to directory '" + spec.cwd + "': " + std::strerror(failure.error)
                           : "cannot execute '" + spec.argv[0] + "': " + std::strerror(failure.error);
    return error(errc::launch_failed, what, exit_reason::because(exit_reason::kind::launch_failed, what));
  }
  if (auto guarded = start_guard(child); !guarded) {
    stop_command(child, std::chrono::milliseconds(0));
    return guarded.error();
  }
  set_nonblocking(child.in);
  set_nonblocking(child.out);
  set_nonblocking(child.err);
  return child;
}

ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  // SIGPIPE for a write goes to the writing thread: block it, and take it back
  // if this write raised it.
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigpending(&pending);
  bool already_pending = sigismember(&pending, SIGPIPE);
  ssize_t n;
  do {
    n = ::write(fd, data, size);
  } while (n < 0 && errno == EINTR);
  int saved = errno;
  if (n < 0 && saved == EPIPE && !already_pending) {
    timespec now{};
    while (::sigtimedwait(&pipe_only, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

std::optional<exit_reason> wait_command(command_child& child, std::chrono::milliseconds timeout) {
  if (!child.pidfd) return std::nullopt;
  if (wire::poll_one(child.pidfd.get(), POLLIN, timeout) == 0) return std::nullopt;
  exit_reason reason = reap(child.pidfd.get());
  child.pidfd.reset();
  return reason;
}

void stop_command(command_child& child, std::chrono::milliseconds grace) {
  // The command is reaped only after the last signal to its group: until
  // then, its pid (the group's id) cannot be reused.
  if (child.pidfd && grace.count() > 0) {
    signal_group(child, SIGTERM);
    wire::poll_one(child.pidfd.get(), POLLIN, grace);
  }
  signal_group(child, SIGKILL);  // the command, if it outlasted the grace, and whatever it left behind
  if (child.pidfd) {
    signal_process(child.pidfd.get(), SIGKILL);  // in case it left its group
    reap(child.pidfd.get());
    child.pidfd.reset();
  }
  if (child.guard) {
    signal_process(child.guard.get(), SIGKILL);  // in case it never joined the group
    reap(child.guard.get());
    child.guard.reset();
  }
  child.guard_line.reset();
}

}  // namespace actorproc::process::detail
