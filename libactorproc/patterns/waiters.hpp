#pragma once
// Shared by the pattern actors that keep requests waiting (queue, lock). Internal.

#include <actorproc/actor/context.hpp>

#include <algorithm>

namespace actorproc::detail {

/// Removes the waiter whose deferred reply is `reply`; false if it is gone
/// already (served before its timer fired).
template <class Waiters>
bool remove_waiter(Waiters& waiters, const deferred_reply& reply) {
  auto it = std::find_if(waiters.begin(), waiters.end(), [&](const auto& w) {
    return w.reply.to == reply.to && w.reply.correlation == reply.correlation;
  });
  if (it == waiters.end()) return false;
  waiters.erase(it);
  return true;
}

}  // namespace actorproc::detail
