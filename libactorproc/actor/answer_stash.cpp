#include "answer_stash.hpp"

#include <actorproc/wire/envelope.hpp>

namespace actorproc::detail {

std::optional<expected<wire::frame_ptr>> answer_stash::take_if_answer(kj::ArrayPtr<const capnp::word> frame,
                                                                      uint64_t peer, uint64_t correlation,
                                                                      const wire::limits& limits) {
  // Either way the frame is kept, so copy it and check the copy: one parse.
  auto owned = std::make_unique<wire::owned_frame>(frame, limits, wire::owned_frame::validate);
  auto env = owned->envelope();
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

bool answer_stash::take_introduction(uint64_t peer) {
  for (auto it = frames_.begin(); it != frames_.end(); ++it) {
    if (it->first != 0) continue;  // a direct channel's frame: its descriptors are that channel's
    auto env = it->second->envelope();
    if (env.isSystem() && env.getSystem().isPeer() && env.getSystem().getPeer() == peer && env.getFdCount() == 1) {
      bytes_ -= it->second->words().size() * sizeof(capnp::word);
      frames_.erase(it);
      return true;
    }
    if (env.getFdCount() != 0) return false;  // its descriptors come first
  }
  return false;
}

std::pair<uint64_t, wire::frame_ptr> answer_stash::pop() {
  auto front = std::move(frames_.front());
  frames_.pop_front();
  bytes_ -= front.second->words().size() * sizeof(capnp::word);
  return front;
}

}  // namespace actorproc::detail
