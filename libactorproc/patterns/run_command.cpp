// run_command(): subprocess.run(capture_output=True) in the calling thread.
//
// Why not in a port actor: the caller blocks anyway, the output may be larger
// than one message, and a helper that needs no node also works inside actors.
// It waits on the command's stdin, stdout and stderr through an event port (the
// worker's own way to wait, actor/event_port.hpp), then on its pidfd;
// the command is reaped through that pidfd only (never waitpid(-1), which would
// steal the node's children). The command runs in a process group of its own,
// and whatever it leaves running there is killed when run_command returns.

#include <actorproc/patterns/port.hpp>

#include <actorproc/process/command.hpp>

#include <actorproc/actor/event_port.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace actorproc {
namespace {

namespace pd = process::detail;
using clock = std::chrono::steady_clock;

// Bytes read from a child's output pipe at a time.
constexpr std::size_t output_chunk = 64 * 1024;

// One output pipe and where its bytes go.
struct sink {
  unique_fd* fd;
  std::string* text;
  const char* name;
};

// Stops watching `fd` and closes it.
void close_watched(detail::event_port& port, unique_fd& fd) {
  port.unwatch(fd.get());
  fd.reset();
}

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

  // As communicate(): feed stdin and drain both outputs until both are at end of file.
  detail::event_port port;
  std::optional<error> failed;  // by a callback: the command is stopped once it returns
  if (child.in) {
    port.watch(child.in.get(), POLLOUT, [&](short) {
      ssize_t w =
          pd::write_without_sigpipe(child.in.get(), options.input.data() + written, options.input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      // All written, or the command stopped reading (EPIPE): Python ignores that too.
      if (written == options.input.size() || (w < 0 && errno != EAGAIN)) close_watched(port, child.in);
    });
  }
  sink sinks[] = {{&child.out, &result.out, "stdout"}, {&child.err, &result.err, "stderr"}};
  for (auto& s : sinks) {
    port.watch(s.fd->get(), POLLIN, [&](short) {
      // Read at most one byte beyond the bound: enough to know it was passed.
      std::size_t used = result.out.size() + result.err.size();
      std::size_t room = std::min(output_chunk, options.max_output - used + 1);
      std::size_t before = s.text->size();
      s.text->resize(before + room);
      ssize_t r = ::read(s.fd->get(), s.text->data() + before, room);
      int saved = errno;
      s.text->resize(before + static_cast<std::size_t>(std::max<ssize_t>(r, 0)));
      if (r == 0 || (r < 0 && saved != EAGAIN && saved != EINTR)) close_watched(port, *s.fd);
      if (result.out.size() + result.err.size() > options.max_output) {
        failed = error(errc::too_large, std::string("the command wrote more than max_output (") +
                                            std::to_string(options.max_output) + " bytes) to " + s.name);
      }
    });
  }
  while (child.out || child.err) {
    if (left().count() <= 0) return fail(errc::timeout, timed_out);
    if (port.wait({}, left()) < 0 && errno != EINTR) {
      return fail(errc::system_error, std::string("poll: ") + std::strerror(errno));
    }
    while (auto ready = port.take_ready()) {
      (*ready)();
      if (failed) return fail(failed->code, failed->message);
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
