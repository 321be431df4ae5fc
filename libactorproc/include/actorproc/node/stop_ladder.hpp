#pragma once
// The timing of a graceful stop: the whole ladder fits in its grace period.
//
// OTP's shutdown timeout T kills a child T after the stop began. A stop here
// has one step more than OTP's (a process can be asked by signal, too), and it
// fits inside T all the same:
//
//   0      the stop message (the actor finishes its handler and exits)
//   T/2    SIGTERM, if it is still running (its handler, if any, gets the rest)
//   T      SIGKILL, if it is still running
//
// actor_handle::stop(grace) and a supervisor child's shutdown_policy::after(T)
// both follow it, and so does destroying the node (node_options::shutdown_grace).

#include <algorithm>
#include <chrono>

namespace actorproc {

struct stop_ladder {
  std::chrono::milliseconds sigterm_at;  // after the stop message
  std::chrono::milliseconds sigkill_at;  // after the stop message: the grace period itself
};

/// The ladder of a stop with `grace` (a negative grace counts as 0: SIGKILL at once).
constexpr stop_ladder ladder_for(std::chrono::milliseconds grace) {
  grace = std::max(grace, std::chrono::milliseconds(0));
  return {grace / 2, grace};
}

}  // namespace actorproc
