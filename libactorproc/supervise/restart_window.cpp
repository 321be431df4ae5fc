#include <actorproc/supervise/restart_window.hpp>

namespace actorproc::detail {

bool restart_window::admit(time_point now) {
  forget_before(now);
  restarts_.push_back(now);
  return static_cast<int>(restarts_.size()) <= intensity_;
}

std::size_t restart_window::in_window(time_point now) {
  forget_before(now);
  return restarts_.size();
}

void restart_window::forget_before(time_point now) {
  // OTP counts a restart exactly `period` old as still inside the window.
  while (!restarts_.empty() && now - restarts_.front() > period_) restarts_.pop_front();
}

}  // namespace actorproc::detail
