#include <actorproc/actor/system_lane.hpp>

#include <actorproc/wire/envelope.hpp>

namespace actorproc::detail {

bool system_lane::due(std::size_t buffered, clock::time_point now) {
  if (buffered == 0) {
    backlog_ = false;
    return false;
  }
  if (!backlog_) {
    backlog_ = true;  // a backlog begins: its first frame goes in order
    last_look_ = now;
    return false;
  }
  if (now - last_look_ < look_every) return false;
  last_look_ = now;
  return true;
}

void system_lane::scan(wire::frame_decoder& in, const wire::limits& limits) {
  try {
    while (auto frame = in.peek(scanned_)) {
      std::size_t offset = scanned_;
      if (wire::is_system_frame(*frame)) {
        auto owned = std::make_unique<wire::owned_frame>(*frame, limits, wire::owned_frame::validate);
        auto envelope = owned->envelope();
        auto kind = envelope.getSystem().which();
        if (envelope.getFdCount() == 0 && (kind == schema::System::STOP || kind == schema::System::HEARTBEAT)) {
          positions_.push_back(in.position() + offset);
          ahead_.push_back(std::move(owned));
        }
      }
      scanned_ = offset + frame->size() * sizeof(capnp::word);
    }
  } catch (const wire::protocol_error&) {
    // Reported when that frame's turn comes.
  }
}

wire::frame_ptr system_lane::take() {
  if (ahead_.empty()) return nullptr;
  auto frame = std::move(ahead_.front());
  ahead_.pop_front();
  return frame;
}

bool system_lane::taken_ahead(uint64_t position, std::size_t bytes) {
  scanned_ = scanned_ > bytes ? scanned_ - bytes : 0;
  if (positions_.empty() || positions_.front() != position) return false;
  positions_.pop_front();
  return true;
}

}  // namespace actorproc::detail
