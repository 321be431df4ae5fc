#pragma once
// Ports: an external command as an actor, and run_command(), the
// subprocess.run(capture_output=True) of libactorproc.
//
//   actorproc::add_port(actors);                             // in main(), before run_if_worker
//   ...
//   auto p = actorproc::start_port(node, {.argv = {"sort"}}).value();
//   actorproc::port_client<actorproc::actor_handle> sort(p);
//   sort.write("pear");                                      // a line to its stdin
//   sort.write("apple");
//   sort.close_input();                                      // it sees end of file
//   while (auto line = sort.read(5s)) std::puts(line->c_str());   // "apple", "pear"
//   p.join(5s);                                              // normal: sort exited with 0
//
//   auto r = actorproc::run_command({"sh", "-c", "cat; echo oops >&2; exit 3"},
//                                   {.input = "hello\n", .timeout = 10s});
//   // r->out == "hello\n", r->err == "oops\n", r->reason == exit_reason::exited(3)
//
// The port actor (its own worker process, like any actor) forks and execs the
// command with its stdin and stdout on pipes; the command dies with the port
// (PR_SET_PDEATHSIG) and inherits nothing but its stdio. Its stderr is
// inherited, discarded, or merged into stdout (port_options::err).
//
// Semantics:
// - Framing, both directions: `lines` (a frame is a line without its '\n'; the
//   port appends '\n' to each write; a last line without '\n' still counts) or
//   `length_prefixed` (a 4-byte big-endian length, then that many bytes). A frame
//   longer than max_frame from the command ends the port with reason
//   protocol_error (and kills the command); a longer write fails with
//   invalid_argument.
// - Output is read by request (read(timeout): the next frame, in order; waiting
//   readers are served in arrival order; timeout when nothing came) or, when
//   `subscriber` is set, pushed to that actor as PortFrame messages, followed by
//   one PortEnd when stdout ends (read() then fails with invalid_argument).
//   After the end, read() fails with end_of_stream while the port lives, and
//   with actor_down (carrying the command's exit reason) once it has exited.
// - Backpressure: at most max_buffered frames wait in the port. Beyond that the
//   port stops reading stdout, the pipe fills and the command blocks in
//   write(2): memory stays below max_buffered x max_frame. A subscriber whose
//   mailbox is full makes the port wait too. Through the node that holds back
//   every message of the port, its answers to requests included (the node stops
//   reading from a sender whose destination is full); node::connect(port,
//   subscriber) gives the frames a channel of their own.
// - write(data) returns once the frame is in the pipe (not necessarily read by
//   the command). Writes not yet in the pipe are bounded by max_pending_input;
//   beyond that a write fails at once with mailbox_full. A write after
//   close_input() fails with invalid_argument; once the command has closed its
//   stdin (or exited) with end_of_stream. close_input() closes stdin after the
//   writes before it, so the command sees end of file.
// - Exit: once the command has exited and all its output has been handed out,
//   the port exits with the command's outcome as its exit reason: normal for
//   status 0, exit_code N, or signal S. So a port is supervised like any actor:
//   a crashed command is a crashed port, restarted by its supervisor. Output
//   nobody takes is kept `linger` after the command's exit, then dropped.
// - A port that is stopped (or crashes) closes the command's pipes, sends it
//   SIGTERM, and SIGKILL after stop_grace; it always reaps it.
// - The command runs in a process group of its own, and what it starts stays
//   there unless it leaves on purpose (setsid). The stop's SIGTERM and SIGKILL
//   go to the whole group, and when the port exits (after the command's exit,
//   a stop, or a crash), whatever is left of the group is killed: no grandchild
//   outlives its port. A port that is SIGKILLed runs no code, so a guard
//   process in the group (the port's child, ignoring SIGTERM) kills the group
//   when the port dies. As its own group, the command is not in a terminal's
//   foreground group: Ctrl-C reaches it through its port only.
// - A command that cannot be started fails the spawn with launch_failed
//   ("cannot execute 'x': No such file or directory").
//
// run_command() runs in the calling thread (of the node or of an actor), not in
// an actor: it is a helper, a poll loop over the command's pipes and pidfd. Its
// output may be larger than a message, and it needs no node. See run_options.
// Its command too runs in a group of its own; what is left of the group when
// run_command() returns (on a timeout, or after the command's exit) is killed.

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/client.hpp>
#include <actorproc/port.capnp.h>

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actorproc {

enum class port_framing : uint8_t { lines, length_prefixed };
enum class port_stderr : uint8_t { inherit, discard, to_stdout };

struct port_options {
  /// The command; argv[0] is searched in PATH unless it contains a '/'.
  std::vector<std::string> argv;
  port_framing framing = port_framing::lines;
  /// Replaces the command's environment ("KEY=value" each); unset: the port's.
  std::optional<std::vector<std::string>> env = {};
  /// The command's working directory; empty: the port's.
  std::string cwd = {};
  port_stderr err = port_stderr::inherit;
  /// The longest frame, in bytes, in either direction.
  std::size_t max_frame = 64 * 1024;
  /// Frames read from stdout and not yet handed out; the port stops reading beyond.
  std::size_t max_buffered = 256;
  /// Bytes of writes accepted and not yet in the pipe.
  std::size_t max_pending_input = 1 << 20;
  /// Pushes each frame to this actor (PortFrame, then PortEnd); id 0: use read().
  actor_ref subscriber = {};
  /// How long output nobody has taken is kept after the command exits.
  std::chrono::milliseconds linger{10000};
  /// When the port stops: SIGTERM to the command, SIGKILL this much later.
  std::chrono::milliseconds stop_grace{1000};
  /// The actor's name; empty: "port:<argv[0]>".
  std::string name = {};
};

/// The registered actor type of ports.
inline constexpr const char* port_type = "actorproc.port";

/// Registers the port actor type (as port_type, "actorproc.port"). Start a
/// port with start_port(), or under a supervisor with
/// child_spec{.actor_type = port_type, .args = port_args(options)}.
void add_port(entry_table& actors);

/// The spawn arguments that carry `options` to a port actor.
std::vector<std::string> port_args(const port_options& options);

/// Starts a port on `n`. Fails with invalid_argument (bad options) or
/// launch_failed (the command cannot be executed).
expected<actor_handle> start_port(node& n, const port_options& options);

struct port_status {
  pid_t pid = 0;  // 0 once the command has exited
  bool running = false;
  std::size_t buffered_frames = 0;
  bool reading_paused = false;
  std::size_t pending_input = 0;
  bool input_open = false;
};

/// The bytes of a frame (a PortFrame reply or push).
inline std::string frame_text(schema::PortFrame::Reader frame) {
  auto data = frame.getData();
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

/// The port's operations for any Caller with request<M, R>(fill, timeout):
/// actor_handle in the node, from_actor in a worker.
template <class Caller>
class port_client {
 public:
  explicit port_client(Caller caller) : caller_(std::move(caller)) {}

  /// Writes one frame to the command's stdin; returns once it is in the pipe.
  /// A timeout does not withdraw the write: it is still written, later.
  expected<void> write(std::string_view data, std::chrono::milliseconds timeout = default_timeout) {
    return detail::ok(caller_.template request<schema::PortWrite, schema::PortOk>(
        [&](schema::PortWrite::Builder b) {
          b.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
        },
        timeout));
  }
  /// Closes the command's stdin once earlier writes are in the pipe.
  expected<void> close_input(std::chrono::milliseconds timeout = default_timeout) {
    return detail::ok(caller_.template request<schema::PortCloseInput, schema::PortOk>(no_fields{}, timeout));
  }
  /// The next frame of the command's stdout.
  expected<std::string> read(std::chrono::milliseconds timeout = default_timeout) {
    auto f = caller_.template request<schema::PortRead, schema::PortFrame>(
        [&](schema::PortRead::Builder b) { b.setTimeoutMillis(static_cast<uint32_t>(timeout.count())); },
        timeout + margin);
    if (!f) return f.error();
    return frame_text(*f);
  }
  /// Sends `signo` to the command; invalid_argument once it has exited.
  expected<void> signal(int signo) {
    return detail::ok(caller_.template request<schema::PortSignal, schema::PortOk>(
        [&](schema::PortSignal::Builder b) { b.setSignal(signo); }, default_timeout));
  }
  expected<port_status> status() {
    auto s = caller_.template request<schema::PortStat, schema::PortStatus>(no_fields{}, default_timeout);
    if (!s) return s.error();
    return port_status{s->getPid(),           s->getRunning(),      s->getBufferedFrames(),
                       s->getReadingPaused(), s->getPendingInput(), s->getInputOpen()};
  }

 private:
  // The port answers a waiting read itself when its timeout passes.
  static constexpr std::chrono::milliseconds margin{2000};
  Caller caller_;
};

/// The port `p` as seen from inside an actor.
inline port_client<from_actor> port_in(context& ctx, actor_ref p) {
  return port_client<from_actor>(direct_caller(ctx, p));
}

struct run_options {
  /// Written to the command's stdin, which is then closed (empty: closed at once).
  std::string input = {};
  /// The command is killed (SIGKILL) and reaped when it has not finished by then.
  std::chrono::milliseconds timeout{60000};
  /// Bytes of stdout and stderr together; beyond it the command is killed.
  std::size_t max_output = 16 << 20;
  std::string cwd = {};
  std::optional<std::vector<std::string>> env = {};
};

struct command_result {
  /// normal (status 0), exit_code, or signal.
  exit_reason reason;
  std::string out;  // everything the command wrote to stdout
  std::string err;  // and to stderr
  /// Python's returncode: the exit status, or -signal.
  int returncode() const { return reason.what == exit_reason::kind::signal ? -reason.signal : reason.code; }
};

/// Runs `argv` to completion in the calling thread, feeding it `input` and
/// capturing its stdout and stderr, like Python's
/// subprocess.run(argv, input=..., capture_output=True, timeout=...). Fails with
/// launch_failed (cannot execute), timeout or too_large (output beyond
/// max_output); the command is then killed and reaped. Its descriptors are all
/// closed on return, whatever the outcome.
expected<command_result> run_command(const std::vector<std::string>& argv, const run_options& options = {});

}  // namespace actorproc
