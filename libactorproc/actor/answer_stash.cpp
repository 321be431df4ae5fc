#include "answer_stash.hpp"

#include "channel.hpp"

#include <actorproc/wire/envelope.hpp>

namespace actorproc::detail {

std::vector<unique_fd> take_fds(wire::frame_decoder& in, std::size_t count) {
  std::vector<unique_fd> fds;
  for (std::size_t i = 0; i < count; ++i) fds.push_back(in.take_fd());
  return fds;
}

std::optional<expected<wire::frame_ptr>> answer_stash::take_if_answer(kj::ArrayPtr<const capnp::word> frame,
                                                                      uint64_t peer, uint64_t correlation,
                                                                      const wire::limits& limits,
                                                                      wire::frame_decoder& in) {
  // Either way the frame is kept, so copy it and check the copy: one parse.
  auto owned = std::make_unique<wire::owned_frame>(frame, limits, wire::owned_frame::validate);
  auto env = owned->envelope();
  owned->attach_fds(take_fds(in, env.getFdCount()));
  auto kind = env.which();
  bool answer =
      (kind == schema::Envelope::RESPONSE || kind == schema::Envelope::FAILURE) && env.getCorrelation() == correlation;
  if (!answer) {
    bytes_ += frame.size() * sizeof(capnp::word);
    frames_.emplace_back(peer, std::move(owned));
    return std::nullopt;
  }
  if (kind == schema::Envelope::RESPONSE) return expected<wire::frame_ptr>(std::move(owned));
  auto failure = env.getFailure();
  std::optional<exit_reason> why;
  if (failure.hasReason()) why = wire::read_exit_reason(failure.getReason());
  return expected<wire::frame_ptr>(error(static_cast<errc>(failure.getCode()), failure.getMessage(), why));
}

std::optional<expected<wire::frame_ptr>> answer_stash::collect(channel_set& channels, uint64_t correlation,
                                                               const wire::limits& limits,
                                                               channel_failures& failures) {
  // Kept in the order the runtime would handle them (causal_gate.hpp): the
  // direct channels' frames, read once more when the mailbox holds a frame,
  // ahead of the mailbox's. An introduction is adopted at once, and the pass
  // starts again, so that its channel is read before the mailbox frames
  // behind it (a dead peer's last frames before the node's notice).
  for (bool again = true; again;) {
    again = false;
    if (channels.mailbox_has_frame()) (void)channels.snapshot_direct();
    for (std::size_t i = 1; i <= channels.size() && !again; ++i) {
      channel& ch = channels[i % channels.size()];  // the mailbox last
      std::optional<kj::ArrayPtr<const capnp::word>> frame;
      while (!again && channels.next_frame(ch, frame) && frame) {
        try {
          if (auto answer = take_if_answer(*frame, ch.peer, correlation, limits, ch.in)) return answer;
        } catch (const wire::protocol_error& e) {
          failures.protocol_failure(ch, e.what());
          return expected<wire::frame_ptr>(error(errc::protocol_error, e.what()));
        }
        again = ch.peer == 0 && adopt_introduction(channels);
      }
    }
  }
  return std::nullopt;
}

bool answer_stash::adopt_introduction(channel_set& channels) {
  auto env = frames_.back().second->envelope();
  if (!env.isSystem() || !env.getSystem().isPeer()) return false;
  uint64_t peer = env.getSystem().getPeer();
  auto fds = frames_.back().second->take_fds();
  bytes_ -= frames_.back().second->words().size() * sizeof(capnp::word);
  frames_.pop_back();
  if (fds.size() == 1) channels.add(peer, std::move(fds.front()));
  return true;
}

std::pair<uint64_t, wire::frame_ptr> answer_stash::pop() {
  auto front = std::move(frames_.front());
  frames_.pop_front();
  bytes_ -= front.second->words().size() * sizeof(capnp::word);
  return front;
}

}  // namespace actorproc::detail
