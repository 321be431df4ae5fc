// What host threads leave for the reactor: links they stopped reading
// (link_reading.cpp), and batches of sends to write once they have lingered
// (link_batching.cpp). Host threads queue them and wake the reactor through
// its eventfd; the rest happens on the reactor thread. See reactor.hpp.
#include "reactor.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

namespace actorproc::detail {

using clock = std::chrono::steady_clock;

void reactor::wake_for(std::vector<uint64_t>& queue, uint64_t id) {
  {
    std::lock_guard lock(host_work_mutex_);
    queue.push_back(id);
  }
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void reactor::hand_back(link& l) { wake_for(handed_back_, l.id); }
void reactor::flush_soon(link& l) { wake_for(to_flush_, l.id); }

void reactor::serve_host_threads() {
  std::vector<uint64_t> handed_back, to_flush;
  {
    std::lock_guard lock(host_work_mutex_);
    handed_back.swap(handed_back_);
    to_flush.swap(to_flush_);
  }
  // The batch goes when its linger has passed: meanwhile the sender may fill
  // it and write it itself.
  auto due = clock::now() + batch_linger;
  for (uint64_t id : to_flush) {
    if (auto l = find(id)) lingering_.emplace_back(due, std::move(l));
  }
  for (uint64_t id : handed_back) {
    if (auto l = find(id)) take_back(l);
  }
}

std::optional<std::chrono::nanoseconds> reactor::flush_lingering() {
  if (lingering_.empty()) return std::nullopt;
  auto now = clock::now();
  std::optional<clock::time_point> next;
  std::erase_if(lingering_, [&](auto& entry) {
    if (entry.first <= now) {
      auto later = entry.second->flush_batch(now);
      if (!later) return true;
      entry.first = *later;  // a batch opened since: it lingers in its turn
    }
    next = std::min(next.value_or(entry.first), entry.first);
    return false;
  });
  if (!next) return std::nullopt;
  return *next - now;
}

void reactor::take_back(const std::shared_ptr<link>& l) {
  std::optional<std::string> failure;
  bool exited;
  {
    std::lock_guard lock(l->mutex);
    failure = std::exchange(l->read_failure, std::nullopt);
    exited = std::exchange(l->exit_deferred, false);
  }
  if (failure) {
    protocol_failure(*l, *failure);
  } else if (l->begin_reactor_read()) {
    read_and_route(*l);  // the frames the host thread left first
    l->end_reactor_read();
  }
  if (!exited) return;
  if (l->reaped) {
    on_exit(l);
  } else {
    // Watched again: its pidfd is still readable, and brings it to on_exit.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = pidfd_key(l->id);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, l->pidfd.get(), &ev);
  }
}

}  // namespace actorproc::detail
