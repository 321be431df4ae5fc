#include <actorproc/patterns/pipe.hpp>

#include <actorproc/actor/wait_hooks.hpp>
#include <actorproc/wire/blocking_io.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace actorproc {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

error closed_error() { return error(errc::end_of_stream, "the other end of the pipe is closed"); }

// Every pipe timeout that is zero or negative means "do not wait"; a huge one
// must not overflow the clock.
clock::time_point deadline_after(milliseconds timeout) {
  auto now = clock::now();
  if (timeout.count() <= 0) return now;
  if (timeout >= std::chrono::duration_cast<milliseconds>(clock::time_point::max() - now)) {
    return clock::time_point::max();
  }
  return now + timeout;
}

std::string bytes_text(std::size_t bytes) { return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes"); }

}  // namespace

// The end's entry in its actor's wait hooks, at a stable address while the
// end itself may move. Registered while the end has output that the actor's
// next wait must write (an open batch, or bytes the socket has not taken).
struct pipe_end::pending_hook final : detail::wait_hook {
  pipe_end* end;
  detail::wait_hooks* hooks = nullptr;  // where it is registered, if it is
  explicit pending_hook(pipe_end* e) : end(e) {}
  ~pending_hook() { unregister(); }
  void flush_before_wait(bool wait) override { end->flush_before_wait(wait); }
  void hooks_gone() override { hooks = nullptr; }
  void enlist(detail::wait_hooks& in) {
    if (hooks == &in) return;
    unregister();
    in.add(this);
    hooks = &in;
  }
  void unregister() {
    if (hooks != nullptr) hooks->remove(this);
    hooks = nullptr;
  }
};

wire::limits pipe_end::default_limits() {
  wire::limits limits;
  // The largest message, plus its envelope and a batch's share before it: the
  // frame limit then never refuses a message that max_message_bytes admits.
  limits.max_frame_bytes =
      std::max(limits.max_frame_bytes, max_message_bytes + wire::batch_builder::close_at_bytes + 64 * 1024);
  return limits;
}

pipe_end::pipe_end() = default;

pipe_end::pipe_end(unique_fd socket, wire::limits limits) : socket_(std::move(socket)), limits_(limits), in_(limits) {}

pipe_end::pipe_end(pipe_end&& other) noexcept
    : socket_(std::move(other.socket_)),
      limits_(other.limits_),
      in_(std::move(other.in_)),
      out_(std::move(other.out_)),
      batch_(std::move(other.batch_)),
      hook_(std::move(other.hook_)),
      batch_in_(std::move(other.batch_in_)),
      batch_in_next_(other.batch_in_next_),
      batch_in_size_(other.batch_in_size_),
      linger_(other.linger_),
      peer_closed_(other.peer_closed_),
      write_failed_(other.write_failed_),
      broken_(std::move(other.broken_)),
      can_send_(other.can_send_),
      can_receive_(other.can_receive_) {
  if (hook_) hook_->end = this;
}

pipe_end& pipe_end::operator=(pipe_end&& other) noexcept {
  if (this == &other) return *this;
  close_and_log();
  socket_ = std::move(other.socket_);
  limits_ = other.limits_;
  in_ = std::move(other.in_);
  out_ = std::move(other.out_);
  batch_ = std::move(other.batch_);
  hook_ = std::move(other.hook_);
  if (hook_) hook_->end = this;
  batch_in_ = std::move(other.batch_in_);
  batch_in_next_ = other.batch_in_next_;
  batch_in_size_ = other.batch_in_size_;
  linger_ = other.linger_;
  peer_closed_ = other.peer_closed_;
  write_failed_ = other.write_failed_;
  broken_ = std::move(other.broken_);
  can_send_ = other.can_send_;
  can_receive_ = other.can_receive_;
  return *this;
}

pipe_end::~pipe_end() {
  close_and_log();
  hook_.reset();
}

void pipe_end::close_and_log() {
  deliver_or_log("closed by its destructor");
  socket_.reset();
}

void pipe_end::deliver_or_log(const char* how) {
  if (!socket_ || unsent_bytes() == 0) return;
  if (auto delivered = flush(linger_); !delivered) {
    std::fprintf(stderr, "actorproc: process %d: a pipe end was %s: %s; they are lost\n", ::getpid(), how,
                 delivered.error().message.c_str());
  }
  out_.clear();
}

std::size_t pipe_end::unsent_bytes() const { return out_.size() + (batch_ ? batch_->size_bytes() : 0); }

void pipe_end::write_output() {
  if (batch_ && !batch_->empty()) {
    if (filling_) {
      throw std::logic_error("a pipe send's fill function used the same pipe end; fill functions must only fill");
    }
    batch_->close_into(out_);
  }
  if (out_.empty() || write_failed_) return;
  if (out_.flush(socket_.get()) == wire::flush_status::failed) write_failed_ = true;  // EPIPE: the peer is gone
}

void pipe_end::read_input() {
  wire::read_status status;
  try {
    status = in_.read_from(socket_.get());
  } catch (const wire::protocol_error& e) {
    // The stream is broken (the bytes of that read are gone): the next
    // receive() reports it, and nothing more is read.
    broken_ = e.what();
    peer_closed_ = true;
    return;
  }
  switch (status) {
    case wire::read_status::data:
    case wire::read_status::would_block:
      return;
    case wire::read_status::end_of_stream:
    case wire::read_status::truncated:  // the peer died in the middle of a frame
    case wire::read_status::failed:
      peer_closed_ = true;
      return;
  }
}

template <class Done>
bool pipe_end::pump(Done&& done, clock::time_point deadline) {
  // Input read ahead while output waits is bounded, so that a peer that only
  // sends cannot grow this end without limit (see the header).
  const std::size_t read_ahead_limit = 2 * limits_.max_frame_bytes;
  bool expired = false;
  for (;;) {
    write_output();
    if (done()) return true;
    if (expired) return false;
    short events = 0;
    if (can_receive_ && !peer_closed_ && in_.buffered_bytes() < read_ahead_limit) events |= POLLIN;
    if (!out_.empty() && !write_failed_) events |= POLLOUT;
    if (events == 0) return false;  // nothing can change any more
    // Past the deadline the socket is still looked at once, without waiting:
    // a zero timeout asks what is ready now.
    auto now = clock::now();
    expired = now >= deadline;
    auto left = expired ? milliseconds(0)
                : deadline == clock::time_point::max() ? milliseconds(-1)
                                                       : std::chrono::ceil<milliseconds>(deadline - now);
    // A wait of the actor: what its other ends have batched leaves first.
    if (left.count() != 0) {
      if (auto* hooks = detail::wait_hooks::current()) hooks->run(true, hook_.get());
    }
    short revents = wire::poll_one(socket_.get(), events, left);
    if ((events & POLLIN) && (revents & (POLLIN | POLLHUP | POLLERR))) read_input();
    if ((revents & (POLLERR | POLLNVAL)) && !(events & POLLIN)) write_failed_ = true;
  }
}

expected<wire::batch_builder*> pipe_end::open_batch(milliseconds timeout) {
  if (!socket_) return error(errc::invalid_argument, "this pipe end is closed");
  if (!can_send_) return error(errc::invalid_argument, "this end of a one-way pipe only receives");
  if (filling_) throw std::logic_error("a pipe send's fill function used the same pipe end; fill functions must only fill");
  if (write_failed_) return closed_error();
  if (!out_.empty()) {
    // An earlier batch (or a message the socket took only in part) goes
    // first: this is where a sender waits for a slow receiver.
    pump([&] { return output_settled(); }, deadline_after(timeout));
    if (write_failed_) return closed_error();
    if (!out_.empty()) {
      return error(errc::mailbox_full, "the pipe stayed full for the whole send timeout; the message was not sent");
    }
  }
  if (!batch_) batch_ = std::make_unique<wire::batch_builder>();
  if (batch_->empty()) batch_->open(0, 0);
  return batch_.get();
}

expected<void> pipe_end::added(unsigned index, milliseconds timeout) {
  wire::batch_builder& batch = *batch_;
  std::size_t bytes = batch.size_bytes();
  // The most a segment table can take (wire::limits::max_segments segments).
  std::size_t table_bytes = 4 * (std::size_t{limits_.max_segments} + 2);
  if (bytes + table_bytes > limits_.max_frame_bytes) {
    batch.drop(index);
    return error(errc::too_large, "a message of about " + bytes_text(bytes) + " (with its batch) exceeds the pipe's frame limit of " +
                                      bytes_text(limits_.max_frame_bytes) + "; not sent");
  }
  auto* hooks = detail::wait_hooks::current();
  if (hooks != nullptr) {
    // In an actor: the batch leaves when the actor next waits, or now if full.
    // `bytes` is batch.full()'s measure, taken once per message.
    if (bytes >= wire::batch_builder::close_at_bytes || batch.at_capacity()) write_output();
    if (!hook_) hook_ = std::make_unique<pending_hook>(this);
    hook_->enlist(*hooks);
    return {};
  }
  // On a thread of the node, nothing would write the batch later: the message
  // goes now, alone, as Python's Connection.send() does.
  std::size_t before = out_.size();
  batch.close_into(out_);
  std::size_t framed = out_.size() - before;
  pump([&] { return output_settled(); }, deadline_after(timeout));
  if (write_failed_) {
    if (out_.size() >= framed) out_.take_back(framed);  // refused, so not counted as lost at close
    return closed_error();
  }
  if (out_.size() >= framed) {
    out_.take_back(framed);  // not a byte of it left: withdraw it whole
    return error(errc::mailbox_full, "the pipe stayed full for the whole send timeout; the message was not sent");
  }
  // Started but not finished within the timeout: the rest stays buffered and
  // leaves during the next calls on this end, or at close (see the header).
  return {};
}

void pipe_end::flush_before_wait(bool wait) {
  if (socket_) {
    try {
      if (wait) {
        pump([&] { return output_settled(); }, deadline_after(linger_));
      } else {
        write_output();
      }
    } catch (const std::exception&) {
      // Only a fill function's misuse throws here, and none is running.
    }
  }
  // Whatever the socket did not take within the linger stays buffered for
  // the next call on this end, or close (see the header).
  if (hook_ && (unsent_bytes() == 0 || write_failed_ || !socket_)) hook_->unregister();
}

expected<pipe_end::received> pipe_end::next(milliseconds timeout) {
  if (!socket_) return error(errc::invalid_argument, "this pipe end is closed");
  if (!can_receive_) return error(errc::invalid_argument, "this end of a one-way pipe only sends");
  if (batched_input()) return received{batch_in_, batch_in_->envelope().getBatch()[batch_in_next_++]};
  batch_in_.reset();
  try {
    pump([&] { return input_ready(); }, deadline_after(timeout));
    if (!broken_.empty()) throw wire::protocol_error(broken_);
    auto frame = in_.next();
    if (!frame) {
      if (peer_closed_) return closed_error();
      return error(errc::timeout, "nothing arrived on the pipe within " + std::to_string(timeout.count()) + " ms");
    }
    // Validated once (the whole batch, if it is one), then read in place.
    auto owned = std::make_shared<wire::owned_frame>(*frame, limits_, wire::owned_frame::validate);
    auto envelope = owned->envelope();
    if (envelope.isUser()) return received{owned, envelope.getUser()};
    if (!envelope.isBatch()) throw wire::protocol_error("a pipe carries only user messages");
    auto batch = envelope.getBatch();
    if (batch.size() == 0) throw wire::protocol_error("an empty batch on a pipe");
    batch_in_ = std::move(owned);
    batch_in_size_ = batch.size();
    batch_in_next_ = 1;
    return received{batch_in_, batch[0]};
  } catch (const wire::protocol_error& e) {
    socket_.reset();  // nothing more can be trusted from this stream
    out_.clear();
    return error(errc::protocol_error, e.what());
  }
}

bool pipe_end::poll(milliseconds timeout) {
  if (!socket_ || !can_receive_) return false;
  try {
    return pump([&] { return input_ready(); }, deadline_after(timeout));
  } catch (const wire::protocol_error&) {
    return true;  // receive() will report it
  }
}

expected<void> pipe_end::flush(milliseconds timeout) {
  if (!socket_) return error(errc::invalid_argument, "this pipe end is closed");
  pump([&] { return output_settled(); }, deadline_after(timeout));
  if (hook_ && out_.empty()) hook_->unregister();
  if (out_.empty()) return {};
  if (write_failed_) {
    return error(errc::end_of_stream,
                 "the other end of the pipe closed with " + bytes_text(out_.size()) + " not delivered");
  }
  return error(errc::timeout, bytes_text(out_.size()) + " not taken by the other end within " +
                                  std::to_string(std::max<long long>(timeout.count(), 0)) + " ms");
}

expected<void> pipe_end::close() { return close(linger_); }

expected<void> pipe_end::close(milliseconds linger) {
  if (!socket_) return {};
  expected<void> delivered;
  if (unsent_bytes() != 0) {
    delivered = flush(linger);
    if (!delivered) delivered = error(delivered.error().code, "close: " + delivered.error().message + "; they are lost");
  }
  socket_.reset();
  out_.clear();
  if (hook_) hook_->unregister();
  return delivered;
}

unique_fd pipe_end::release() {
  deliver_or_log("released");
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
