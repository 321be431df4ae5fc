#include <actorproc/supervise/backoff.hpp>

#include <algorithm>

namespace actorproc::detail {

backoff_step next_backoff(const backoff_policy& policy, std::chrono::milliseconds previous,
                          std::chrono::steady_clock::duration ran_for, double unit_sample) {
  if (policy.min.count() == 0 && policy.max.count() == 0) return {};
  auto ceiling = std::max(policy.min, policy.max);
  backoff_step step;
  if (ran_for >= policy.reset_after || previous.count() == 0) {
    step.base = policy.min;
  } else {
    step.base = std::min(std::max(policy.min, 2 * previous), ceiling);
  }
  double spread = 1.0 - policy.jitter + 2.0 * policy.jitter * std::clamp(unit_sample, 0.0, 1.0);
  step.delay = std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(step.base.count()) * spread));
  return step;
}

}  // namespace actorproc::detail
