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
  for (std::size_t i = 0; i < channels.size(); ++i) {
    channel& ch = channels[i];
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    while (channels.next_frame(ch, frame) && frame) {
      try {
        if (auto answer = take_if_answer(*frame, ch.peer, correlation, limits, ch.in)) return answer;
      } catch (const wire::protocol_error& e) {
        failures.protocol_failure(ch, e.what());
        return expected<wire::frame_ptr>(error(errc::protocol_error, e.what()));
      }
    }
  }
  return std::nullopt;
}

std::optional<unique_fd> answer_stash::take_introduction(uint64_t peer) {
  for (auto it = frames_.begin(); it != frames_.end(); ++it) {
    if (it->first != 0) continue;  // from a direct channel: introductions come from the node
    auto env = it->second->envelope();
    if (env.isSystem() && env.getSystem().isPeer() && env.getSystem().getPeer() == peer && env.getFdCount() == 1) {
      auto fds = it->second->take_fds();
      bytes_ -= it->second->words().size() * sizeof(capnp::word);
      frames_.erase(it);
      if (fds.size() != 1) return std::nullopt;
      return std::move(fds.front());
    }
  }
  return std::nullopt;
}

std::pair<uint64_t, wire::frame_ptr> answer_stash::pop() {
  auto front = std::move(frames_.front());
  frames_.pop_front();
  bytes_ -= front.second->words().size() * sizeof(capnp::word);
  return front;
}

}  // namespace actorproc::detail
