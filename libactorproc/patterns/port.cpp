// The port actor: an external command behind an actor (port.hpp). It feeds
// the command's stdin from PortWrite in order, cuts its stdout into frames
// (lines or length-prefixed) and hands them to readers or a subscriber with
// backpressure, and exits with the command's outcome. How its options reach
// it as spawn arguments is port_options.cpp's.

#include "port_actor.hpp"
#include "port_options.hpp"

#include <actorproc/process/command.hpp>
#include "waiters.hpp"

#include <actorproc/process/pidfd.hpp>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>

namespace actorproc {
namespace {

using namespace std::chrono_literals;
namespace pd = process::detail;

// A subscriber whose mailbox is full is tried again this often.
constexpr auto delivery_retry = 10ms;
// Bytes read from stdout at a time.
constexpr std::size_t read_chunk = 64 * 1024;
using detail::port_prefix_bytes;

}  // namespace

struct port_actor::impl {
  struct reader {
    uint64_t timer;
    deferred_reply reply;
  };
  // A write (bytes, already framed) or a close_input() waiting for its turn.
  struct input {
    std::string bytes;
    std::size_t offset = 0;
    deferred_reply reply;
    bool close = false;
  };

  context& ctx;
  port_options options;
  pd::command_child child;
  std::optional<exit_reason> exited;  // the command's outcome, once reaped
  bool finished = false;              // ctx.stop() was called

  // stdout
  std::string raw;  // bytes read and not yet cut into frames, from raw_pos
  std::size_t raw_pos = 0;
  bool out_eof = false;
  bool out_watched = false;
  std::deque<std::string> frames;
  std::deque<reader> readers;
  bool end_sent = false;  // PortEnd, to a subscriber
  bool retry_scheduled = false;

  // stdin
  std::deque<input> inputs;
  std::size_t pending_input = 0;
  bool close_requested = false;  // close_input() was called
  bool in_watched = false;

  impl(context& c, port_options o) : ctx(c), options(std::move(o)) {
    auto started = pd::spawn_command(
        {.argv = options.argv, .env = options.env, .cwd = options.cwd, .err = detail::stderr_target(options.err)});
    if (!started) throw std::runtime_error(started.error().message);
    child = std::move(*started);
    ctx.watch_fd(child.pidfd.get(), POLLIN, [this](short) { on_exit(); });
    update_out_watch();
  }

  ~impl() {
    for (int fd : {child.in.get(), child.out.get(), child.pidfd.get()}) {
      if (fd >= 0) ctx.unwatch_fd(fd);
    }
    child.in.reset();  // a filter sees end of file, a writer EPIPE
    child.out.reset();
    pd::stop_command(child, options.stop_grace);
  }

  // --- the command's exit -------------------------------------------------

  void on_exit() {
    int pidfd = child.pidfd.get();
    auto reason = pd::wait_command(child, 0ms);
    if (!reason) return;
    ctx.unwatch_fd(pidfd);
    exited = *reason;
    flush_input();  // whatever still waits for the pipe fails now
    pump();
    if (!finished) {
      ctx.after(options.linger, [this] {
        if (finished) return;
        std::fprintf(stderr, "actorproc: port '%s': output not taken within %lld ms of the command's exit, dropped\n",
                     ctx.name().c_str(), static_cast<long long>(options.linger.count()));
        finish(*exited);
      });
    }
  }

  void finish(const exit_reason& reason) {
    finished = true;
    ctx.stop(reason);
  }

  // --- stdout -------------------------------------------------------------

  void on_stdout() {
    std::size_t old_size = raw.size();
    raw.resize(old_size + read_chunk);
    ssize_t n = ::read(child.out.get(), raw.data() + old_size, read_chunk);
    int error = errno;
    raw.resize(old_size + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && (error == EAGAIN || error == EINTR)) return;
    if (n <= 0) {  // end of file (or a broken pipe: the same for us)
      out_eof = true;
      ctx.unwatch_fd(child.out.get());
      out_watched = false;
      child.out.reset();
    }
    pump();
  }

  bool output_done() const { return out_eof && raw_pos == raw.size() && frames.empty(); }

  // Cuts frames out of `raw` while there is room for them.
  void decode() {
    while (!finished && frames.size() < options.max_buffered) {
      std::size_t available = raw.size() - raw_pos;
      if (options.framing == port_framing::lines) {
        std::size_t nl = raw.find('\n', raw_pos);
        std::size_t length = nl == std::string::npos ? available : nl - raw_pos;
        if (length > options.max_frame) {
          return too_long("a line longer than max_frame (" + std::to_string(options.max_frame) + " bytes)");
        }
        if (nl == std::string::npos && !(out_eof && available > 0)) break;
        frames.push_back(raw.substr(raw_pos, length));  // a last line without '\n' counts
        raw_pos += nl == std::string::npos ? length : length + 1;
      } else {
        if (available < port_prefix_bytes) {
          if (out_eof && available > 0) truncated(available);
          break;
        }
        auto* p = reinterpret_cast<const unsigned char*>(raw.data() + raw_pos);
        std::size_t length = std::size_t{p[0]} << 24 | std::size_t{p[1]} << 16 | std::size_t{p[2]} << 8 | p[3];
        if (length > options.max_frame) {
          return too_long("a frame of " + std::to_string(length) + " bytes, beyond max_frame (" +
                          std::to_string(options.max_frame) + ")");
        }
        if (available < port_prefix_bytes + length) {
          if (out_eof) truncated(available);
          break;
        }
        frames.push_back(raw.substr(raw_pos + port_prefix_bytes, length));
        raw_pos += port_prefix_bytes + length;
      }
    }
    if (raw_pos == raw.size()) {
      raw.clear();
      raw_pos = 0;
    } else if (raw_pos >= read_chunk) {
      raw.erase(0, raw_pos);
      raw_pos = 0;
    }
  }

  void too_long(const std::string& what) {
    std::fprintf(stderr, "actorproc: port '%s': the command wrote %s\n", ctx.name().c_str(), what.c_str());
    finish(exit_reason::because(exit_reason::kind::protocol_error, "the command wrote " + what));
  }

  void truncated(std::size_t bytes) {
    std::fprintf(stderr, "actorproc: port '%s': stdout ended inside a frame; its %zu bytes are dropped\n",
                 ctx.name().c_str(), bytes);
    raw_pos = raw.size();
  }

  // Hands frames to readers or to the subscriber; true if it handed out any.
  bool deliver() {
    bool any = false;
    if (options.subscriber.id == 0) {
      for (; !readers.empty() && !frames.empty(); any = true) {
        auto r = readers.front();
        readers.pop_front();
        ctx.cancel(r.timer);
        ctx.reply_to<schema::PortFrame>(r.reply, [&](schema::PortFrame::Builder b) { set_data(b, frames.front()); });
        frames.pop_front();
      }
      return any;
    }
    for (; !frames.empty(); any = true) {
      // Never blocks: a full mailbox is retried later, and stdout waits meanwhile.
      auto sent = ctx.send<schema::PortFrame>(
          options.subscriber, [&](schema::PortFrame::Builder b) { set_data(b, frames.front()); }, 0ms);
      if (!sent) {
        retry_later();
        break;
      }
      frames.pop_front();
    }
    return any;
  }

  void retry_later() {
    if (retry_scheduled) return;
    retry_scheduled = true;
    ctx.after(delivery_retry, [this] {
      retry_scheduled = false;
      pump();
    });
  }

  static void set_data(schema::PortFrame::Builder b, const std::string& bytes) {
    b.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  }

  // Moves output along: decode, hand out, repeat while that makes room; then
  // read stdout only if there is room (backpressure), and exit once all is done.
  void pump() {
    if (finished) return;
    do {
      decode();
      if (finished) return;
    } while (deliver());
    if (output_done()) {
      if (options.subscriber.id == 0) {
        for (auto& r : readers) {
          ctx.cancel(r.timer);
          ctx.fail(r.reply, errc::end_of_stream, "the command's output has ended");
        }
        readers.clear();
      } else if (!end_sent) {
        end_sent = ctx.send<schema::PortEnd>(options.subscriber, no_fields{}, 0ms).has_value();
        if (!end_sent) retry_later();
      }
    }
    update_out_watch();
    if (exited && output_done() && (options.subscriber.id == 0 || end_sent)) {
      if (ctx.unsent_bytes() == 0) {
        finish(*exited);
      } else {
        retry_later();  // until the last frames have left this process (linger bounds it)
      }
    }
  }

  void update_out_watch() {
    bool want = child.out && !finished && frames.size() < options.max_buffered;
    if (want == out_watched) return;
    if (want) {
      ctx.watch_fd(child.out.get(), POLLIN, [this](short) { on_stdout(); });
    } else {
      ctx.unwatch_fd(child.out.get());
    }
    out_watched = want;
  }

  // --- stdin --------------------------------------------------------------

  std::string framed(capnp::Data::Reader data) const {
    std::string out;
    if (options.framing == port_framing::lines) {
      out.reserve(data.size() + 1);
      out.append(reinterpret_cast<const char*>(data.begin()), data.size());
      out.push_back('\n');
    } else {
      auto n = static_cast<uint32_t>(data.size());
      out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
      out.append(reinterpret_cast<const char*>(data.begin()), data.size());
    }
    return out;
  }

  void write(capnp::Data::Reader data) {
    if (close_requested) return ctx.fail(ctx.defer(), errc::invalid_argument, "write after close_input()");
    if (!child.in) return ctx.fail(ctx.defer(), errc::end_of_stream, "the command has closed its stdin");
    if (data.size() > options.max_frame) {
      return ctx.fail(ctx.defer(), errc::invalid_argument,
                      "a write of " + std::to_string(data.size()) + " bytes, beyond max_frame (" +
                          std::to_string(options.max_frame) + ")");
    }
    std::string bytes = framed(data);
    if (pending_input + bytes.size() > options.max_pending_input) {
      return ctx.fail(ctx.defer(), errc::mailbox_full,
                      "the command is not reading its stdin: max_pending_input (" +
                          std::to_string(options.max_pending_input) + " bytes) is reached");
    }
    pending_input += bytes.size();
    inputs.push_back({std::move(bytes), 0, ctx.defer(), false});
    flush_input();
  }

  void close_input() {
    if (close_requested || !child.in) {
      ctx.reply<schema::PortOk>();  // closed already: as Python's close(), not an error
      return;
    }
    close_requested = true;
    inputs.push_back({{}, 0, ctx.defer(), true});
    flush_input();
  }

  // Writes what the pipe takes; waits for POLLOUT for the rest.
  void flush_input() {
    while (!inputs.empty()) {
      input& next = inputs.front();
      if (next.close) {
        close_stdin();
        ctx.reply_to<schema::PortOk>(next.reply);
      } else if (!child.in) {
        pending_input -= next.bytes.size() - next.offset;
        ctx.fail(next.reply, errc::end_of_stream, "the command has closed its stdin");
      } else {
        ssize_t n =
            pd::write_without_sigpipe(child.in.get(), next.bytes.data() + next.offset, next.bytes.size() - next.offset);
        if (n < 0 && errno == EAGAIN) return watch_input(true);
        if (n < 0) {
          close_stdin();  // EPIPE: nobody reads it any more; every write waiting fails
          continue;
        }
        next.offset += static_cast<std::size_t>(n);
        pending_input -= static_cast<std::size_t>(n);
        if (next.offset < next.bytes.size()) continue;
        ctx.reply_to<schema::PortOk>(next.reply);
      }
      inputs.pop_front();
    }
    watch_input(false);
  }

  void watch_input(bool want) {
    if (want == in_watched || !child.in) return;
    if (want) {
      ctx.watch_fd(child.in.get(), POLLOUT, [this](short) { flush_input(); });
    } else {
      ctx.unwatch_fd(child.in.get());
    }
    in_watched = want;
  }

  void close_stdin() {
    if (!child.in) return;
    if (in_watched) ctx.unwatch_fd(child.in.get());
    in_watched = false;
    child.in.reset();
  }

  // --- requests -----------------------------------------------------------

  void read(uint32_t timeout_ms) {
    if (options.subscriber.id != 0) {
      return ctx.fail(ctx.defer(), errc::invalid_argument, "this port pushes its output to a subscriber");
    }
    if (output_done()) return ctx.fail(ctx.defer(), errc::end_of_stream, "the command's output has ended");
    auto reply = ctx.defer();
    uint64_t timer = ctx.after(std::chrono::milliseconds(timeout_ms), [this, reply] {
      if (detail::remove_waiter(readers, reply)) {
        ctx.fail(reply, errc::timeout, "the command wrote nothing within the timeout");
      }
    });
    readers.push_back({timer, reply});
    pump();
  }

  void signal(int signo) {
    if (exited || !process::signal_process(child.pidfd.get(), signo)) {
      return ctx.fail(ctx.defer(), errc::invalid_argument, "the command has exited");
    }
    ctx.reply<schema::PortOk>();
  }

  void status() {
    ctx.reply<schema::PortStatus>([&](schema::PortStatus::Builder s) {
      s.setPid(exited ? 0 : child.pid);
      s.setRunning(!exited);
      s.setBufferedFrames(static_cast<uint32_t>(frames.size()));
      s.setReadingPaused(child.out && !out_watched);
      s.setPendingInput(pending_input);
      s.setInputOpen(child.in && !close_requested);
    });
  }
};

port_actor::port_actor(context& ctx) : impl_(std::make_unique<impl>(ctx, detail::parse_port_args(ctx.args()))) {}
port_actor::~port_actor() = default;

void port_actor::on(schema::PortWrite::Reader m, context&) { impl_->write(m.getData()); }
void port_actor::on(schema::PortCloseInput::Reader, context&) { impl_->close_input(); }
void port_actor::on(schema::PortRead::Reader m, context&) { impl_->read(m.getTimeoutMillis()); }
void port_actor::on(schema::PortSignal::Reader m, context&) { impl_->signal(m.getSignal()); }
void port_actor::on(schema::PortStat::Reader, context&) { impl_->status(); }

}  // namespace actorproc
