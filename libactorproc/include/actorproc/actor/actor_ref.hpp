#pragma once

#include <cstdint>

namespace actorproc {

/// The address of an actor, valid anywhere on its node: in the node, in any
/// worker, and inside a message (put `ref.id` in a UInt64 field). An id is never
/// reused for another actor while the node lives. Id 0 is the node itself.
struct actor_ref {
  uint64_t id = 0;
  friend bool operator==(actor_ref, actor_ref) = default;
};

}  // namespace actorproc
