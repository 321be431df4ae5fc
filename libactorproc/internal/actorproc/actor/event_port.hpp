#pragma once
// event_port: timers, descriptor watches and one bounded wait, for a thread
// that has nothing else to do while it waits. Internal: the worker runtime and
// run_command() wait through it (public only for run_command, in another
// layer, and for its unit tests).
//
// It is the single-threaded loop's waiting half, kept apart from what the loop
// waits *for*, so that every loop in the library waits the same way:
// - Timers: after(delay, fn) and cancel(id). The owner asks what is due
//   (take_due_timer) and how long until the next one (until_next_timer); it
//   decides when to run them (the worker lets due timers and messages take
//   turns).
// - Watches: watch(fd, events, fn), level-triggered, one per descriptor. A wait
//   that finds a watched descriptor ready marks it; take_ready() hands out one
//   marked callback at a time, so the owner can run one between two messages.
//   A marked descriptor is not polled again until its callback was taken (a
//   level-triggered descriptor would otherwise end every wait at once). A
//   descriptor closed while watched is reported once with POLLNVAL, and its
//   watch is dropped.
// - wait(own, timeout): one poll(2) over the owner's own descriptors (the
//   worker's sockets, whose revents come back in place) and every unmarked
//   watch. poll rather than epoll: a worker waits on one to a few descriptors,
//   and an epoll set would cost a system call per change of interest.
//
// Nothing here runs on its own: the owner runs what take_due_timer() and
// take_ready() hand out, and catches what they throw.

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace actorproc::detail {

class event_port {
 public:
  using clock = std::chrono::steady_clock;

  /// A watch callback that a wait found ready, with what the wait saw.
  struct ready_call {
    int fd;
    short revents;
    std::shared_ptr<std::function<void(short)>> fn;  // shared: the callback may unwatch its own descriptor
    void operator()() const { (*fn)(revents); }
  };

  /// Runs `fn` once `delay` has passed (when the owner takes it); an id for cancel().
  uint64_t after(std::chrono::milliseconds delay, std::function<void()> fn);
  /// Forgets a timer that has not been taken (no effect otherwise).
  void cancel(uint64_t id);
  /// The earliest timer due at `now`, taken out (empty: none is due).
  std::function<void()> take_due_timer(clock::time_point now);
  bool has_timers() const { return !timers_.empty(); }
  /// Whether a timer is due at `now`.
  bool timer_due(clock::time_point now) const { return !timers_.empty() && timers_.begin()->first <= now; }
  /// How long until the next timer is due, rounded up (0 if one is due; -1 ms: no timer).
  std::chrono::milliseconds until_next_timer(clock::time_point now) const;

  /// Calls `fn` (through take_ready) whenever a wait finds `fd` ready for
  /// `events`; POLLHUP and POLLERR are always reported. Watching a watched
  /// descriptor again replaces its events and callback, and forgets a mark
  /// made for the old events.
  void watch(int fd, short events, std::function<void(short revents)> fn);
  /// Stops watching `fd` (no effect if it is not watched).
  void unwatch(int fd);
  bool has_watches() const { return !watches_.empty(); }
  /// One callback that the last wait found ready, unmarked (nullopt: none).
  std::optional<ready_call> take_ready();

  /// Polls `own` (revents set in place) and every unmarked watch for up to
  /// `timeout` (negative: no bound; 0: only look); marks the ready watches.
  /// Returns poll(2)'s result: the number of ready descriptors, 0 on timeout,
  /// -1 with errno (EINTR included: the owner decides whether to wait again).
  int wait(std::span<pollfd> own, std::chrono::milliseconds timeout);

 private:
  struct timer {
    uint64_t id;
    std::function<void()> fn;
  };
  struct fd_watch {
    int fd;
    short events;
    short ready;  // revents of the last wait, until its callback is taken
    std::shared_ptr<std::function<void(short)>> fn;
  };

  std::multimap<clock::time_point, timer> timers_;
  uint64_t next_timer_ = 1;
  std::vector<fd_watch> watches_;
  std::vector<pollfd> polled_;  // one wait's poll set, kept to spare an allocation per wait
};

}  // namespace actorproc::detail
