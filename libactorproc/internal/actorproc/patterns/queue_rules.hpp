#pragma once
// The queue actor's accounting rules (patterns/queue.hpp): how many credits a
// reservation gets and how many items a get fetches. Pure functions, so that
// the bound and the fair shares are unit-tested without processes
// (tests/queue_rules_test.cpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace actorproc::detail::queue_rules {

/// Free room: what may still be promised without breaking maxsize. Items given
/// back after a consumer died may push `queued` past maxsize: no room then.
inline std::size_t room(std::size_t maxsize, std::size_t queued, std::size_t credits) {
  std::size_t used = queued + credits;
  return used >= maxsize ? 0 : maxsize - used;
}

/// Credits for a reservation that asks for `want`, with `others` reservations
/// waiting behind it: its share of the room, at least one while there is room,
/// never more than it asked for. 0: none now (it waits, or fails with queue_full).
inline uint32_t grant(std::size_t room, uint32_t want, std::size_t others) {
  if (room == 0) return 0;
  std::size_t share = std::max<std::size_t>(1, room / (1 + others));
  return static_cast<uint32_t>(std::min<std::size_t>({share, std::max<uint32_t>(1, want), UINT32_MAX}));
}

/// Items for a get that asks for up to `max`, with `others` getters waiting
/// behind it: its share of what is queued, at least one while any is queued.
inline std::size_t fetch(std::size_t queued, uint32_t max, std::size_t others) {
  if (queued == 0) return 0;
  std::size_t share = std::max<std::size_t>(1, queued / (1 + others));
  return std::min<std::size_t>(share, std::max<uint32_t>(1, max));
}

/// A batch stops growing at this many words (plus its last item), so that a
/// batch of large items stays far below the frame limit.
inline constexpr std::size_t batch_words = 32 * 1024;

}  // namespace actorproc::detail::queue_rules
