#include <actorproc/process/zygote.hpp>

#include "child_setup.hpp"

#include <actorproc/launch.capnp.h>
#include <actorproc/process/pidfd.hpp>
#include <actorproc/wire/blocking_io.hpp>

#include <capnp/serialize.h>
#include <kj/exception.h>

#include <fcntl.h>
#include <poll.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace actorproc::process {
namespace {

using namespace std::chrono_literals;

// The zygote answers within this time or is considered broken.
constexpr auto zygote_reply_timeout = 10s;

// Descriptors are moved above this number before being placed at 3, 4, ... so that
// placing one never overwrites another that is still to be placed.
constexpr int fd_staging_floor = 512;

launch_request read_request(schema::LaunchRequest::Reader in) {
  launch_request out;
  out.actor_type = in.getActorType();
  out.name = in.getName();
  out.id = in.getId();
  for (auto arg : in.getArgs()) out.args.emplace_back(arg);
  out.method = in.getMethod() == schema::LaunchRequest::Method::EXEC ? start_method::exec : start_method::zygote;
  out.program = in.getProgram();
  return out;
}

// In the exec'd child: mailbox at 3, extras at 4.., everything else closed.
[[noreturn]] void exec_worker(const launch_request& request, pid_t node_pid, int mailbox,
                              std::vector<unique_fd>& extras, int error_pipe) {
  std::vector<int> staged;
  staged.push_back(::fcntl(mailbox, F_DUPFD_CLOEXEC, fd_staging_floor));
  for (auto& fd : extras) staged.push_back(::fcntl(fd.get(), F_DUPFD_CLOEXEC, fd_staging_floor));
  std::vector<int> keep{error_pipe};
  for (std::size_t i = 0; i < staged.size(); ++i) {
    int target = exec_mailbox_fd + static_cast<int>(i);
    ::dup2(staged[i], target);  // dup2 clears close-on-exec: exactly these are inherited
    keep.push_back(target);
  }
  detail::close_all_except(keep);

  std::string program = request.program.empty() ? "/proc/self/exe" : request.program;
  std::vector<std::string> words{program,
                                 worker_switch,
                                 request.actor_type,
                                 "--actorproc-id",
                                 std::to_string(request.id),
                                 "--actorproc-name",
                                 request.name,
                                 "--actorproc-node",
                                 std::to_string(node_pid),
                                 "--actorproc-fds",
                                 std::to_string(extras.size()),
                                 "--"};
  words.insert(words.end(), request.args.begin(), request.args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  // The zygote is single-threaded: setenv is safe between its fork and exec.
  ::setenv(worker_env, std::to_string(node_pid).c_str(), 1);
  ::execv(program.c_str(), argv.data());
  int err = errno;
  (void)!::write(error_pipe, &err, sizeof err);
  ::_exit(127);
}

// Forks one worker as the node's child. Returns the pidfd (or -errno) and sets `pid`.
int fork_worker(const launch_request& request, pid_t node_pid, int control, unique_fd& mailbox,
                std::vector<unique_fd>& extras, const zygote::child_main& body, std::string& failure, pid_t& pid_out) {
  int error_pipe[2] = {-1, -1};
  if (request.method == start_method::exec && ::pipe2(error_pipe, O_CLOEXEC) != 0) {
    failure = std::string("pipe2: ") + std::strerror(errno);
    return -errno;
  }
  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_PIDFD | CLONE_PARENT;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  // A raw clone3 skips glibc's fork handlers; that is fine here because the zygote
  // is single-threaded and holds no locks (the reason it exists).
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) {
    int err = errno;
    failure = std::string("clone3: ") + std::strerror(err);
    if (error_pipe[0] >= 0) ::close(error_pipe[0]), ::close(error_pipe[1]);
    return -err;
  }
  if (pid == 0) {
    ::close(control);
    if (!detail::die_with_parent(node_pid)) ::_exit(1);
    detail::reset_signals();
    if (request.method == start_method::exec) exec_worker(request, node_pid, mailbox.get(), extras, error_pipe[1]);
    std::vector<int> keep{mailbox.get()};
    for (auto& fd : extras) keep.push_back(fd.get());
    detail::close_all_except(keep);
    ::_exit(body(request, std::move(mailbox), std::move(extras)));
  }
  pid_out = static_cast<pid_t>(pid);
  mailbox.reset();
  extras.clear();
  if (request.method == start_method::exec) {
    ::close(error_pipe[1]);
    int err = 0;
    ssize_t n;
    do {
      n = ::read(error_pipe[0], &err, sizeof err);  // EOF (0) means exec succeeded
    } while (n < 0 && errno == EINTR);
    ::close(error_pipe[0]);
    if (n == sizeof err) {
      failure = "exec " + (request.program.empty() ? std::string("/proc/self/exe") : request.program) + ": " +
                std::strerror(err);
    }
  }
  return pidfd;
}

[[noreturn]] void serve(int control, pid_t node_pid, const zygote::child_main& body) {
  ::prctl(PR_SET_NAME, "actorproc-zygote");
  wire::frame_decoder in;
  for (;;) {
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    try {
      if (wire::wait_for_frame(control, in, -1ms, frame) != wire::wait_result::frame) ::_exit(0);
    } catch (const wire::protocol_error&) {
      ::_exit(2);  // only the node writes here; garbage means the node is broken
    }
    capnp::FlatArrayMessageReader reader(*frame);
    auto request_reader = reader.getRoot<schema::LaunchRequest>();
    launch_request request = read_request(request_reader);
    unique_fd mailbox = in.take_fd();
    std::vector<unique_fd> extras;
    for (unsigned i = 0; i < request_reader.getExtraFds(); ++i) extras.push_back(in.take_fd());

    std::string failure;
    pid_t pid = -1;
    int pidfd = fork_worker(request, node_pid, control, mailbox, extras, body, failure, pid);

    capnp::MallocMessageBuilder reply_message;
    auto reply = reply_message.initRoot<schema::LaunchReply>();
    std::vector<unique_fd> attached;
    if (pidfd >= 0) {
      attached.emplace_back(pidfd);
      reply.setPid(pid);  // and its pidfd is attached
    }
    if (!failure.empty()) {
      reply.setErrorNumber(pidfd < 0 ? -pidfd : ECHILD);
      reply.setMessage(failure);
    }
    wire::frame_writer out;
    out.append(reply_message, std::move(attached));
    if (!wire::flush_blocking(control, out, -1ms)) ::_exit(0);
  }
}

}  // namespace

expected<zygote> zygote::start(child_main body) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return error(errc::system_error, std::string("socketpair: ") + std::strerror(errno));
  }
  unique_fd node_end(sv[0]), zygote_end(sv[1]);
  pid_t node_pid = ::getpid();
  // Unwritten stdio buffers would be copied into the zygote and written again by
  // every worker that flushes them.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return error(errc::system_error, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    node_end.reset();
    if (!detail::die_with_parent(node_pid)) ::_exit(1);
    // The host's handlers (Boost.Test's jump back into a test) have no business
    // in the zygote; its workers reset theirs again.
    detail::reset_signals();
    detail::close_all_except({zygote_end.get()});
    serve(zygote_end.get(), node_pid, body);
  }
  unique_fd pidfd = open_pidfd(pid);
  if (!pidfd) return error(errc::system_error, std::string("pidfd_open: ") + std::strerror(errno));
  return zygote(pid, std::move(pidfd), std::move(node_end));
}

zygote::zygote(pid_t pid, unique_fd pidfd, unique_fd control)
    : pid_(pid), pidfd_(std::move(pidfd)), control_(std::move(control)) {}

zygote::zygote(zygote&&) noexcept = default;
zygote& zygote::operator=(zygote&&) noexcept = default;

zygote::~zygote() {
  if (!pidfd_) return;
  control_.reset();  // end of stream: the zygote exits on its own
  if (wire::poll_one(pidfd_.get(), POLLIN, 2000ms) == 0) signal_process(pidfd_.get(), SIGKILL);
  reap(pidfd_.get());
}

expected<launched_process> zygote::launch(const launch_request& request, unique_fd mailbox,
                                          std::vector<unique_fd> extra_fds) {
  std::lock_guard lock(*mutex_);
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::LaunchRequest>();
  out.setActorType(request.actor_type);
  out.setName(request.name);
  out.setId(request.id);
  auto args = out.initArgs(static_cast<unsigned>(request.args.size()));
  for (unsigned i = 0; i < request.args.size(); ++i) args.set(i, request.args[i]);
  out.setMethod(request.method == start_method::exec ? schema::LaunchRequest::Method::EXEC
                                                     : schema::LaunchRequest::Method::ZYGOTE);
  out.setProgram(request.program);
  out.setNodePid(::getpid());
  out.setExtraFds(static_cast<uint8_t>(extra_fds.size()));

  std::vector<unique_fd> attached;
  attached.push_back(std::move(mailbox));
  for (auto& fd : extra_fds) attached.push_back(std::move(fd));
  wire::frame_writer writer;
  writer.append(message, std::move(attached));
  if (!wire::flush_blocking(control_.get(), writer, zygote_reply_timeout)) {
    return error(errc::launch_failed, "the zygote is gone");
  }

  wire::frame_decoder reader;
  std::optional<kj::ArrayPtr<const capnp::word>> frame;
  if (wire::wait_for_frame(control_.get(), reader, zygote_reply_timeout, frame) != wire::wait_result::frame) {
    return error(errc::launch_failed, "the zygote did not answer");
  }
  capnp::FlatArrayMessageReader reply_reader(*frame);
  auto reply = reply_reader.getRoot<schema::LaunchReply>();
  unique_fd pidfd = reply.getPid() > 0 ? reader.take_fd() : unique_fd();
  if (reply.getErrorNumber() != 0) {
    std::string why = reply.getMessage();
    if (pidfd) reap(pidfd.get());  // the failed exec child is ours to reap, and it exits at once
    return error(errc::launch_failed, why, exit_reason::because(exit_reason::kind::launch_failed, why));
  }
  launched_process child;
  child.pid = reply.getPid();
  child.pidfd = std::move(pidfd);
  return child;
}

}  // namespace actorproc::process
