#include "channel.hpp"

#include <actorproc/actor/causal_gate.hpp>
#include <actorproc/actor/system_lane.hpp>
#include <actorproc/base/defaults.hpp>
#include <actorproc/wire/blocking_io.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <stdexcept>

namespace actorproc::detail {
namespace {

using clock = std::chrono::steady_clock;

// The worker's own output buffer per channel. A send beyond it waits for the
// socket (backpressure) up to its timeout.
constexpr std::size_t output_limit = 1 << 20;
// Flush early once this much is buffered, to overlap writing with the reader.
constexpr std::size_t flush_threshold = 64 * 1024;

}  // namespace

channel::channel(uint64_t p, unique_fd f, const wire::limits& limits)
    : peer(p), fd(std::move(f)), in(limits) {
  // A blocking receive returns after this slice at the latest.
  auto limit = peer == 0 ? receive_slice : peer_receive_slice;
  timeval slice{0, static_cast<suseconds_t>(std::chrono::microseconds(limit).count())};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof slice);
}

channel_set::channel_set(unique_fd mailbox, const wire::limits& limits, channel_failures& failures,
                         wire::batch_builder* const& filling)
    : limits_(limits), failures_(failures), filling_(filling) {
  channels_.push_back(std::make_unique<channel>(0, std::move(mailbox), limits));
}

void channel_set::add(uint64_t peer, unique_fd fd) {
  channels_.push_back(std::make_unique<channel>(peer, std::move(fd), limits_));
}

channel& channel_set::route(uint64_t to) {
  channel* direct = find(to);
  return (direct != nullptr && !direct->closed) ? *direct : mailbox();
}

channel* channel_set::find(uint64_t peer) {
  for (auto& ch : channels_) {
    if (ch->peer == peer) return ch.get();
  }
  return nullptr;
}

void channel_set::drop_closed() {
  for (std::size_t i = 1; i < channels_.size();) {
    if (channels_[i]->closed && channels_[i]->in.buffered_bytes() == 0) {
      if (batching_ == channels_[i].get()) batching_ = nullptr;
      channels_.erase(channels_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

wire::read_status channel_set::read(channel& ch, bool block) {
  wire::read_status status;
  try {
    status = ch.in.read_from(ch.fd.get(), block);
  } catch (const wire::protocol_error& e) {
    failures_.protocol_failure(ch, e.what());
    return wire::read_status::failed;
  }
  switch (status) {
    case wire::read_status::data:
    case wire::read_status::would_block:
      return status;
    case wire::read_status::truncated:
      if (ch.peer != 0) break;
      failures_.protocol_failure(ch, "the node closed the mailbox in the middle of a frame");
      return status;
    case wire::read_status::end_of_stream:
    case wire::read_status::failed:
      break;
  }
  if (ch.peer == 0) failures_.mailbox_closed();
  ch.closed = true;
  return status;
}

bool channel_set::next_frame(channel& ch, std::optional<kj::ArrayPtr<const capnp::word>>& frame) {
  try {
    frame = ch.in.next();
    return true;
  } catch (const wire::protocol_error& e) {
    failures_.protocol_failure(ch, e.what());
    return false;
  }
}

namespace {

// Stop and heartbeat wait for no direct frame: a stopping actor handles
// nothing more, and a heartbeat answer means nothing to its peers.
bool goes_at_once(channel& mailbox, const wire::limits& limits) {
  try {
    auto frame = mailbox.in.peek(0);
    if (!frame || !wire::is_system_frame(*frame)) return false;
    auto kind = wire::owned_frame(*frame, limits, wire::owned_frame::validate).envelope().getSystem().which();
    return kind == schema::System::STOP || kind == schema::System::HEARTBEAT;
  } catch (const std::exception&) {
    return true;  // reported in its turn
  }
}

}  // namespace

bool channel_set::mailbox_has_frame() {
  try {
    return mailbox().in.has_complete_frame();
  } catch (const wire::protocol_error&) {
    return true;
  }
}

std::vector<std::pair<uint64_t, uint64_t>> channel_set::snapshot_direct() {
  std::vector<std::pair<uint64_t, uint64_t>> ends;
  for (std::size_t i = 1; i < channels_.size(); ++i) {
    channel& ch = *channels_[i];
    while (!ch.closed && ch.in.buffered_bytes() < input_hold_limit && read(ch) == wire::read_status::data) {
    }
    ends.emplace_back(ch.peer, ch.in.position() + ch.in.buffered_bytes());
  }
  return ends;
}

std::size_t channel_set::owed_before_mailbox(causal_gate& gate) {
  if (channels_.size() == 1) return 0;
  if (!mailbox_has_frame()) {
    // A flood of direct frames keeps the worker from waiting, where it reads
    // the mailbox: so it looks there now and then, for a stop.
    auto now = clock::now();
    if (now - mailbox_looked_ < system_lane::look_every) return 0;
    mailbox_looked_ = now;
    if (mailbox().closed || read(mailbox()) != wire::read_status::data || !mailbox_has_frame()) return 0;
  }
  if (goes_at_once(mailbox(), limits_)) return 0;
  uint64_t position = mailbox().in.position();
  if (!gate.armed_for(position)) gate.arm(position, snapshot_direct());
  std::vector<causal_gate::head> heads;
  for (std::size_t i = 1; i < channels_.size(); ++i) {
    channel& ch = *channels_[i];
    causal_gate::head h{ch.peer, std::nullopt};
    try {
      if (auto frame = ch.in.peek(0)) h.frame_end = ch.in.position() + frame->size() * sizeof(capnp::word);
    } catch (const wire::protocol_error&) {
      // Reported in the channel's own turn.
    }
    heads.push_back(h);
  }
  auto owed = gate.owed(heads);
  return owed ? *owed + 1 : 0;
}

wire::frame_writer& channel_set::output(channel& ch) {
  if (!ch.batch.empty()) {
    if (filling_ == &ch.batch) {
      throw std::logic_error(
          "a send()'s fill function used the context on the channel of the message it fills; "
          "fill functions must only fill their message");
    }
    ch.batch.close_into(ch.out);
  }
  return ch.out;
}

wire::flush_status channel_set::flush(channel& ch) {
  // A batch whose message a fill function is filling is framed later; what is framed goes.
  if ((filling_ == &ch.batch ? ch.out : output(ch)).empty()) return wire::flush_status::done;
  if (ch.write_blocked) return wire::flush_status::would_block;  // no futile send() on a full socket
  auto status = ch.out.flush(ch.fd.get());
  ch.write_blocked = status == wire::flush_status::would_block;
  if (status == wire::flush_status::failed) {
    ch.out.clear();
    ch.closed = true;
  }
  return status;
}

bool channel_set::flush_all() {
  bool all = true;
  for (auto& ch : channels_) all &= flush(*ch) != wire::flush_status::would_block;
  return all;
}

bool channel_set::direct_pending() const {
  for (std::size_t i = 1; i < channels_.size(); ++i) {
    const channel& ch = *channels_[i];
    if (!ch.closed && (!ch.out.empty() || (!ch.batch.empty() && filling_ != &ch.batch))) return true;
  }
  return false;
}

template <class Done>
bool channel_set::pump_until(Done&& done, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    pump_fds_.clear();
    for (auto& ch : channels_) {
      short events = 0;
      if (!ch->closed && ch->in.buffered_bytes() < input_hold_limit) events |= POLLIN;
      if (!ch->closed && flush(*ch) == wire::flush_status::would_block) events |= POLLOUT;
      pump_fds_.push_back({events == 0 ? -1 : ch->fd.get(), events, 0});  // -1: not polled
    }
    if (done()) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return false;
    if (::poll(pump_fds_.data(), pump_fds_.size(), static_cast<int>(left.count())) <= 0) continue;
    for (std::size_t i = 0; i < pump_fds_.size(); ++i) {
      short revents = pump_fds_[i].revents;
      channel& ch = *channels_[i];
      if (revents & (POLLOUT | POLLERR | POLLHUP)) ch.write_blocked = false;
      if ((revents & (POLLIN | POLLHUP | POLLERR)) && (pump_fds_[i].events & POLLIN)) read(ch);
    }
  }
}

bool channel_set::fence(std::chrono::milliseconds timeout) {
  if (!direct_pending()) return true;
  return pump_until([&] { return !direct_pending(); }, std::min(timeout, fence_patience));
}

expected<void> channel_set::make_room(channel& ch, std::chrono::milliseconds timeout) {
  if (&ch == &mailbox() && channels_.size() > 1) {
    auto started = clock::now();
    fence(timeout);
    timeout -= std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  }
  if (ch.out.size() < output_limit) return {};
  if (pump_until([&] { return ch.closed || ch.out.size() < output_limit; }, timeout)) {
    if (ch.closed) return error(errc::actor_down, "the channel is closed");
    return {};
  }
  return error(errc::mailbox_full, "the output buffer stayed full for the whole send timeout");
}

expected<void> channel_set::append_within_frame(wire::frame_writer& to, wire::envelope_builder& out, const char* what,
                                                std::vector<unique_fd> fds) {
  if (fds.size() > wire::frame_decoder::max_fds_per_frame) {
    return error(errc::invalid_argument, std::string("a ") + what + " with " + std::to_string(fds.size()) +
                                             " descriptors (at most " +
                                             std::to_string(wire::frame_decoder::max_fds_per_frame) + "); not sent");
  }
  // The writer measures the frame as it appends it: the check costs nothing extra per message.
  std::size_t bytes = to.append(out.message(), std::move(fds), limits_.max_frame_bytes);
  if (bytes <= limits_.max_frame_bytes) return {};
  return error(errc::too_large, std::string("a ") + what + " of " + std::to_string(bytes) +
                                    " bytes exceeds the frame limit of " + std::to_string(limits_.max_frame_bytes) +
                                    " bytes; not sent");
}

void channel_set::append_answer(channel& ch, wire::envelope_builder& out, std::vector<unique_fd> fds) {
  if (&ch == &mailbox()) fence(fence_patience);
  auto& to = output(ch);
  auto sent = append_within_frame(to, out, "reply", std::move(fds));
  if (sent) return;
  auto env = out.envelope();
  wire::envelope_builder failure;
  failure.address(env.getTo(), env.getFrom(), env.getCorrelation());
  failure.init_failure(sent.error().code, sent.error().message);
  to.append(failure.message());
}

std::size_t channel_set::unsent_bytes() const {
  std::size_t total = 0;
  for (const auto& ch : channels_) total += ch->closed ? 0 : ch->out.size() + ch->batch.size_bytes();
  return total;
}

void channel_set::flush_before_exit(std::chrono::milliseconds timeout) {
  for (std::size_t i = 1; i <= channels_.size(); ++i) {  // the mailbox last (fence)
    channel& ch = *channels_[i % channels_.size()];
    wire::flush_blocking(ch.fd.get(), output(ch), timeout);
  }
}

expected<wire::batch_builder*> channel_set::open_batch(uint64_t to, uint64_t from, std::chrono::milliseconds timeout) {
  // A burst to one actor finds its batch here without looking up the route.
  channel& ch = (batching_ != nullptr && batching_->batch.accepts(to, from)) ? *batching_ : route(to);
  if (ch.peer == 0 && channels_.size() > 1) fence(timeout);
  batching_ = &ch;
  if (ch.batch.accepts(to, from)) return &ch.batch;
  if (auto room = make_room(ch, timeout); !room) return room.error();
  output(ch);  // frames the batch to another destination, if one is open
  ch.batch.open(to, from);
  return &ch.batch;
}

wire::batch_builder* channel_set::unsent_batch(uint64_t to, uint64_t from) {
  channel& ch = (batching_ != nullptr && batching_->batch.holds(to, from)) ? *batching_ : route(to);
  if (!ch.batch.holds(to, from)) return nullptr;
  // A routed send waits for the direct channels' output first (open_batch's
  // fence): while some is pending, the caller sends, and so waits.
  if (ch.peer == 0 && channels_.size() > 1 && direct_pending()) return nullptr;
  return &ch.batch;
}

expected<void> channel_set::added_to_batch(wire::batch_builder& batch, unsigned index, bool nested) {
  std::size_t bytes = batch.size_bytes();
  // The most a segment table can take (wire::limits::max_segments segments).
  std::size_t table_bytes = 4 * (std::size_t{limits_.max_segments} + 2);
  if (bytes + table_bytes > limits_.max_frame_bytes) {
    if (nested) {
      // Compacting the batch would invalidate the builder being filled: a usage error.
      batch.drop(index, false);
      throw std::logic_error("a message too large for a frame was sent from inside another send's fill function");
    }
    batch.drop(index);
    return error(errc::too_large, "a one-way message of about " + std::to_string(bytes) +
                                      " bytes (with its batch) exceeds the frame limit of " +
                                      std::to_string(limits_.max_frame_bytes) + " bytes; not sent");
  }
  bool full = bytes >= wire::batch_builder::close_at_bytes || batch.at_capacity();
  if (nested || !full) return {};
  for (auto& ch : channels_) {
    if (&ch->batch != &batch) continue;
    if (output(*ch).size() >= flush_threshold) flush(*ch);
    break;
  }
  return {};
}

bool channel_set::poll_set(std::vector<pollfd>& fds) {
  fds.clear();
  bool flushed = true;
  for (auto& ch : channels_) {
    short events = POLLIN;
    if (flush(*ch) == wire::flush_status::would_block) {
      events |= POLLOUT;
      flushed = false;
    }
    fds.push_back({ch->fd.get(), events, 0});
  }
  return flushed;
}

void channel_set::absorb(std::span<const pollfd> fds) {
  for (std::size_t i = 0; i < fds.size() && i < channels_.size(); ++i) {
    short revents = fds[i].revents;
    if (revents == 0) continue;
    channel& ch = *channels_[i];
    if (revents & (POLLOUT | POLLERR | POLLHUP)) ch.write_blocked = false;
    if (revents & POLLOUT) flush(ch);
    if (revents & (POLLIN | POLLHUP | POLLERR)) read(ch);
  }
}

}  // namespace actorproc::detail
