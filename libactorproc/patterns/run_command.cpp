// run_command(): subprocess.run(capture_output=True) in the calling thread.
//
// Why not in a port actor: the caller blocks anyway, the output may be larger
// than one message, and a helper that needs no node also works inside actors.
// It is a poll loop over the command's stdin, stdout and stderr, then its pidfd;
// the command is reaped through that pidfd only (never waitpid(-1), which would
// steal the node's children). The command runs in a process group of its own,
// and whatever it leaves running there is killed when run_command returns.

#include <actorproc/patterns/port.hpp>

#include <actorproc/process/command.hpp>

#include <actorproc/process/pidfd.hpp>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace actorproc {
namespace {

namespace pd = process::detail;
using clock = std::chrono::steady_clock;

constexpr std::size_t read_chunk = 64 * 1024;

// One output pipe and where its bytes go.
struct sink {
  unique_fd* fd;
  std::string* text;
  const char* name;
};

}  // namespace

expected<command_result> run_command(const std::vector<std::string>& argv, const run_options& options) {
  auto deadline = clock::now() + options.timeout;
  auto started =
      pd::spawn_command({.argv = argv, .env = options.env, .cwd = options.cwd, .err = pd::stderr_to::own_pipe});
  if (!started) return started.error();
  pd::command_child child = std::move(*started);
  command_result result;
  std::size_t written = 0;
  if (options.input.empty()) child.in.reset();

  // Any failure below kills and reaps the command before it is reported.
  auto fail = [&](errc code, std::string what) -> expected<command_result> {
    pd::stop_command(child, std::chrono::milliseconds(0));
    return error(code, std::move(what));
  };
  auto left = [&] { return std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()); };
  std::string timed_out = "the command did not finish within " + std::to_string(options.timeout.count()) + " ms";

  sink sinks[] = {{&child.out, &result.out, "stdout"}, {&child.err, &result.err, "stderr"}};
  // As communicate(): feed stdin and drain both outputs until both are at end of file.
  while (child.out || child.err) {
    std::vector<pollfd> fds;
    if (child.in) fds.push_back({child.in.get(), POLLOUT, 0});
    for (auto& s : sinks) {
      if (*s.fd) fds.push_back({s.fd->get(), POLLIN, 0});
    }
    if (left().count() <= 0) return fail(errc::timeout, timed_out);
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left().count()));
    if (n < 0 && errno != EINTR) return fail(errc::system_error, std::string("poll: ") + std::strerror(errno));
    if (n <= 0) continue;
    for (auto& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == child.in.get()) {
        ssize_t w = pd::write_without_sigpipe(p.fd, options.input.data() + written, options.input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        // All written, or the command stopped reading (EPIPE): Python ignores that too.
        if (written == options.input.size() || (w < 0 && errno != EAGAIN)) child.in.reset();
        continue;
      }
      for (auto& s : sinks) {
        if (!*s.fd || p.fd != s.fd->get()) continue;
        // Read at most one byte beyond the bound: enough to know it was passed.
        std::size_t used = result.out.size() + result.err.size();
        std::size_t room = std::min(read_chunk, options.max_output - used + 1);
        std::size_t before = s.text->size();
        s.text->resize(before + room);
        ssize_t r = ::read(p.fd, s.text->data() + before, room);
        int error = errno;
        s.text->resize(before + static_cast<std::size_t>(std::max<ssize_t>(r, 0)));
        if (r == 0 || (r < 0 && error != EAGAIN && error != EINTR)) s.fd->reset();
        if (result.out.size() + result.err.size() > options.max_output) {
          return fail(errc::too_large, std::string("the command wrote more than max_output (") +
                                           std::to_string(options.max_output) + " bytes) to " + s.name);
        }
      }
    }
  }
  child.in.reset();
  auto reason = pd::wait_command(child, std::max(left(), std::chrono::milliseconds(0)));
  if (!reason) return fail(errc::timeout, timed_out);
  result.reason = *reason;
  pd::stop_command(child, std::chrono::milliseconds(0));  // what it left running in its group, and the guard
  return result;
}

}  // namespace actorproc
