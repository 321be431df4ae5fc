#include <actorproc/actor/event_port.hpp>

#include <algorithm>
#include <climits>
#include <utility>

namespace actorproc::detail {

uint64_t event_port::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  uint64_t id = next_timer_++;
  timers_.emplace(clock::now() + delay, timer{id, std::move(fn)});
  return id;
}

void event_port::cancel(uint64_t id) {
  auto it = std::find_if(timers_.begin(), timers_.end(), [id](const auto& t) { return t.second.id == id; });
  if (it != timers_.end()) timers_.erase(it);
}

std::function<void()> event_port::take_due_timer(clock::time_point now) {
  if (!timer_due(now)) return {};
  auto fn = std::move(timers_.begin()->second.fn);
  timers_.erase(timers_.begin());
  return fn;
}

std::chrono::milliseconds event_port::until_next_timer(clock::time_point now) const {
  using std::chrono::milliseconds;
  if (timers_.empty()) return milliseconds(-1);
  return std::max(milliseconds(0), std::chrono::ceil<milliseconds>(timers_.begin()->first - now));
}

void event_port::watch(int fd, short events, std::function<void(short)> fn) {
  auto shared = std::make_shared<std::function<void(short)>>(std::move(fn));
  for (auto& w : watches_) {
    if (w.fd == fd) {
      w.events = events;
      w.ready = 0;  // what the last wait saw was for the old events
      w.fn = std::move(shared);
      return;
    }
  }
  watches_.push_back({fd, events, 0, std::move(shared)});
}

void event_port::unwatch(int fd) {
  std::erase_if(watches_, [fd](const fd_watch& w) { return w.fd == fd; });
}

std::optional<event_port::ready_call> event_port::take_ready() {
  for (auto& w : watches_) {
    if (w.ready == 0) continue;
    ready_call call{w.fd, std::exchange(w.ready, 0), w.fn};
    // The descriptor is no longer open: nothing would ever clear its POLLNVAL.
    if (call.revents & POLLNVAL) unwatch(call.fd);
    return call;
  }
  return std::nullopt;
}

int event_port::wait(std::span<pollfd> own, std::chrono::milliseconds timeout) {
  polled_.assign(own.begin(), own.end());
  for (const auto& w : watches_) {
    if (w.ready == 0) polled_.push_back({w.fd, w.events, 0});
  }
  int n = ::poll(polled_.data(), polled_.size(), static_cast<int>(std::clamp<int64_t>(timeout.count(), -1, INT_MAX)));
  if (n <= 0) return n;
  for (std::size_t i = 0; i < own.size(); ++i) own[i].revents = polled_[i].revents;
  // The watches polled are the unmarked ones, in order; a callback cannot
  // have changed them since (nothing ran during the poll).
  std::size_t k = own.size();
  for (auto& w : watches_) {
    if (w.ready == 0) w.ready = polled_[k++].revents;
  }
  return n;
}

}  // namespace actorproc::detail
