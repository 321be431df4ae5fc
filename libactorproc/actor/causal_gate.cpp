#include <actorproc/actor/causal_gate.hpp>

namespace actorproc::detail {

void causal_gate::arm(uint64_t position, std::vector<std::pair<uint64_t, uint64_t>> ends) {
  armed_ = true;
  position_ = position;
  ends_ = std::move(ends);
}

std::optional<std::size_t> causal_gate::owed(std::span<const head> heads) const {
  if (!armed_) return std::nullopt;
  for (std::size_t i = 0; i < heads.size(); ++i) {
    if (!heads[i].frame_end) continue;
    for (const auto& [peer, end] : ends_) {
      if (peer == heads[i].peer && *heads[i].frame_end <= end) return i;
    }
  }
  return std::nullopt;
}

}  // namespace actorproc::detail
