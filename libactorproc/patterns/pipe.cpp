#include <actorproc/patterns/pipe.hpp>

#include <actorproc/wire/blocking_io.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace actorproc {
namespace {

using clock = std::chrono::steady_clock;

// Bytes a sender may buffer beyond what the socket holds before send() waits.
constexpr std::size_t pipe_buffer_limit = 1 << 20;

error closed_error() { return error(errc::end_of_stream, "the other end of the pipe is closed"); }

}  // namespace

pipe_end::pipe_end(unique_fd socket, wire::limits limits) : socket_(std::move(socket)), limits_(limits), in_(limits) {}

expected<void> pipe_end::post(wire::envelope_builder& out, std::chrono::milliseconds timeout) {
  if (!socket_) return error(errc::invalid_argument, "this pipe end is closed");
  if (!can_send_) return error(errc::invalid_argument, "this end of a one-way pipe only receives");
  if (out_.size() >= pipe_buffer_limit) {
    auto deadline = clock::now() + timeout;
    while (out_.size() >= pipe_buffer_limit) {
      if (out_.flush(socket_.get()) == wire::flush_status::failed) return closed_error();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (out_.size() >= pipe_buffer_limit &&
          (left.count() <= 0 || wire::poll_one(socket_.get(), POLLOUT, left) == 0)) {
        return error(errc::mailbox_full, "the pipe stayed full for the whole send timeout");
      }
    }
  }
  out_.append(out.message());
  switch (out_.flush(socket_.get())) {
    case wire::flush_status::failed:
      out_.clear();
      return closed_error();               // EPIPE: the peer closed (or this is an adopted receive-only end)
    case wire::flush_status::would_block:  // the rest goes out with the next send or receive
    case wire::flush_status::done:
      return {};
  }
  return {};
}

expected<wire::frame_ptr> pipe_end::next(std::chrono::milliseconds timeout) {
  if (!socket_) return error(errc::invalid_argument, "this pipe end is closed");
  if (!can_receive_) return error(errc::invalid_argument, "this end of a one-way pipe only sends");
  if (!out_.empty()) out_.flush(socket_.get());
  std::optional<kj::ArrayPtr<const capnp::word>> frame;
  try {
    if (peer_closed_) {
      frame = in_.next();
      if (!frame) return closed_error();
    } else {
      switch (wire::wait_for_frame(socket_.get(), in_, timeout, frame)) {
        case wire::wait_result::frame:
          break;
        case wire::wait_result::timeout:
          return error(errc::timeout, "nothing arrived on the pipe within " + std::to_string(timeout.count()) + " ms");
        case wire::wait_result::closed:
          peer_closed_ = true;
          frame = in_.next();
          if (!frame) return closed_error();
          break;
      }
    }
    auto owned = std::make_unique<wire::owned_frame>(*frame, limits_, wire::owned_frame::validate);
    if (!owned->envelope().isUser()) throw wire::protocol_error("a pipe carries only user messages");
    return owned;
  } catch (const wire::protocol_error& e) {
    close();
    return error(errc::protocol_error, e.what());
  }
}

bool pipe_end::poll(std::chrono::milliseconds timeout) {
  if (!socket_) return false;
  try {
    if (in_.has_complete_frame()) return true;
  } catch (const wire::protocol_error&) {
    return true;  // receive() will report it
  }
  if (peer_closed_) return true;
  return wire::poll_one(socket_.get(), POLLIN, timeout) != 0;
}

void pipe_end::close() {
  if (socket_ && !out_.empty()) wire::flush_blocking(socket_.get(), out_, std::chrono::milliseconds(1000));
  socket_.reset();
  out_.clear();
}

unique_fd pipe_end::release() {
  out_.clear();
  return std::move(socket_);
}

expected<pipe_pair> make_pipe(bool duplex) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return error(errc::system_error, std::string("socketpair: ") + std::strerror(errno));
  }
  pipe_pair pair{pipe_end(unique_fd(sv[0])), pipe_end(unique_fd(sv[1]))};
  if (!duplex) {
    // As Python's Pipe(duplex=False): the first end receives, the second sends.
    ::shutdown(pair.first.socket_.get(), SHUT_WR);
    ::shutdown(pair.second.socket_.get(), SHUT_RD);
    pair.first.can_send_ = false;
    pair.second.can_receive_ = false;
  }
  return pair;
}

}  // namespace actorproc
