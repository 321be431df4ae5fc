// The reactor's loop and its table of links: epoll over every mailbox socket
// and pidfd. Routing is in reactor_routing.cpp, exits in reactor_exit.cpp,
// heartbeats in reactor_heartbeat.cpp.
#include "reactor.hpp"

#include <actorproc/process/pidfd.hpp>

#include <kj/exception.h>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace actorproc::detail {
reactor::reactor(wire::limits limits, hooks h)
    : limits_(limits),
      hooks_(std::move(h)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { run(); });
}

reactor::~reactor() {
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void reactor::add(std::shared_ptr<link> l) {
  if (l->heartbeat.interval.count() > 0) {
    if (l->heartbeat.timeout.count() <= 0) l->heartbeat.timeout = 3 * l->heartbeat.interval;
    l->heartbeat_due = std::chrono::steady_clock::now() + l->heartbeat.interval;
  }
  {
    std::lock_guard lock(links_mutex_);
    links_[l->id] = l;
    if (l->heartbeat.interval.count() > 0) heartbeat_links_.push_back(l->id);
  }
  if (l->heartbeat.interval.count() > 0) {
    uint64_t one = 1;  // recompute epoll's timeout with this actor's first heartbeat
    (void)!::write(wake_.get(), &one, sizeof one);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = pidfd_key(l->id);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, l->pidfd.get(), &ev);
  std::lock_guard lock(l->mutex);
  ev.data.u64 = socket_key(l->id);
  ev.events = EPOLLIN | (l->write_watched ? uint32_t{EPOLLOUT} : 0u);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, l->socket.get(), &ev);
}

void reactor::update_events_locked(link& l) {
  if (!l.socket_open) return;
  epoll_event ev{};
  ev.events = (l.input_watched_locked() ? uint32_t{EPOLLIN} : 0u) | (l.write_watched ? uint32_t{EPOLLOUT} : 0u);
  ev.data.u64 = socket_key(l.id);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, l.socket.get(), &ev);
}

std::shared_ptr<link> reactor::find(uint64_t id) const {
  std::lock_guard lock(links_mutex_);
  auto it = links_.find(id);
  return it == links_.end() ? nullptr : it->second;
}

std::optional<exit_reason> reactor::exit_reason_of(uint64_t id) const {
  std::lock_guard lock(links_mutex_);
  auto it = graveyard_.find(id);
  if (it == graveyard_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::shared_ptr<link>> reactor::all() const {
  std::lock_guard lock(links_mutex_);
  std::vector<std::shared_ptr<link>> out;
  for (auto& [id, l] : links_) out.push_back(l);
  return out;
}

std::size_t reactor::size() const {
  std::lock_guard lock(links_mutex_);
  return links_.size();
}

bool reactor::wait_until_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(links_mutex_);
  return links_changed_.wait_until(lock, deadline, [&] { return links_.empty(); });
}

void reactor::run() {
  constexpr int max_events = 64;
  epoll_event events[max_events];
  while (!stopping_) {
    int heartbeat_ms = check_heartbeats();
    auto linger = flush_lingering();
    timespec timeout{};
    timespec* wait = nullptr;  // none: until an event
    if (heartbeat_ms >= 0 || linger) {
      auto ns = std::chrono::nanoseconds(linger.value_or(std::chrono::milliseconds(heartbeat_ms)));
      if (heartbeat_ms >= 0) ns = std::min<std::chrono::nanoseconds>(ns, std::chrono::milliseconds(heartbeat_ms));
      timeout.tv_sec = ns.count() / 1'000'000'000;
      timeout.tv_nsec = ns.count() % 1'000'000'000;
      wait = &timeout;
    }
    int n = ::epoll_pwait2(epoll_.get(), events, max_events, wait, nullptr);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      uint64_t key = events[i].data.u64;
      if (key == 0) {  // the wake eventfd
        uint64_t count;
        (void)!::read(wake_.get(), &count, sizeof count);
        serve_host_threads();
        continue;
      }
      auto l = find(key >> 1);
      if (!l) continue;  // already finalized; a stale event from the same batch
      if (key & 1) {
        on_exit(l);
      } else {
        on_socket_event(*l, events[i].events);
      }
    }
    flush_routed();
  }
}

void reactor::on_socket_event(link& l, uint32_t events) {
  if (events & EPOLLOUT) {
    {
      std::lock_guard lock(l.mutex);
      l.write_watched = false;
      l.flush_locked();  // watches again if it still does not all fit
      if (!l.write_watched) update_events_locked(l);
    }
    l.changed.notify_all();  // senders waiting for room
    wake_parked(l);
  }
  // While a host thread reads the link (link_reading.cpp), epoll does not
  // watch its input, but reports a hang-up anyway: that thread sees it too,
  // and hands the link back.
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && l.begin_reactor_read()) {
    read_and_route(l);
    l.end_reactor_read();
  }
}

}  // namespace actorproc::detail
