#pragma once
// The restart intensity rule of OTP: at most `intensity` restarts within any
// `period` (a sliding window). Pure: the caller passes the time, so the rule is
// unit-tested on an injected clock without processes. Internal.

#include <chrono>
#include <deque>

namespace actorproc::detail {

class restart_window {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  restart_window(int intensity, std::chrono::milliseconds period) : intensity_(intensity), period_(period) {}

  /// Counts one more restart at `now`; false when that exceeds the intensity
  /// (the supervisor must give up). Restarts older than `period` no longer count.
  bool admit(time_point now);
  /// Restarts counted in the window ending at `now`.
  std::size_t in_window(time_point now);

 private:
  void forget_before(time_point now);

  const int intensity_;
  const std::chrono::milliseconds period_;
  std::deque<time_point> restarts_;  // oldest first; at most intensity + 1 entries
};

}  // namespace actorproc::detail
