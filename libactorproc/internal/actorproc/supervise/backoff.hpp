#pragma once
// Restart backoff (backoff_policy in spec.hpp): the delay doubles from `min` up
// to `max` while a child keeps failing, goes back to `min` once an incarnation
// has run for `reset_after`, and is spread by +/- `jitter` so that children
// that failed together do not restart in lockstep. Pure: the caller passes how
// long the incarnation ran and a uniform sample in [0, 1), so it is unit-tested
// without clocks or randomness. Internal.

#include <actorproc/supervise/spec.hpp>

#include <chrono>

namespace actorproc::detail {

struct backoff_step {
  std::chrono::milliseconds base{0};   // the un-jittered delay: the next call's `previous`
  std::chrono::milliseconds delay{0};  // what to wait before this restart
};

/// The next restart delay of a child whose previous base delay was `previous`
/// (0: none yet) and whose last incarnation ran for `ran_for`.
backoff_step next_backoff(const backoff_policy& policy, std::chrono::milliseconds previous,
                          std::chrono::steady_clock::duration ran_for, double unit_sample);

}  // namespace actorproc::detail
