#pragma once
// The bookkeeping shared by the pattern actors that keep requests waiting
// (queue, lock, the synchronization actors, port): their waiters, and the
// actors they watch. Private to the patterns layer.
//
// A waiter is any struct whose first two fields are `uint64_t timer` and
// `deferred_reply reply`; the containers are deques or vectors of them.

#include <actorproc/actor/context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace actorproc::detail {

/// A request kept waiting, and nothing more.
struct timed_waiter {
  uint64_t timer = 0;
  deferred_reply reply;
};

/// The actors a pattern actor monitors: each once, and never the node (id 0),
/// which does not die before its actors.
class watchers {
 public:
  void watch(uint64_t who, context& ctx) {
    if (who != 0 && watched_.insert(who).second) ctx.monitor({who});
  }
  void forget(uint64_t who) { watched_.erase(who); }

 private:
  std::set<uint64_t> watched_;
};

/// Answers the request being handled with an error (deferred, then failed at once).
inline void refuse(context& ctx, errc code, const std::string& message) { ctx.fail(ctx.defer(), code, message); }

/// Takes out the waiter whose deferred reply is `reply`; nothing if it is gone
/// already (served before its timer fired).
template <class Waiters>
std::optional<typename Waiters::value_type> remove_waiter(Waiters& waiters, const deferred_reply& reply) {
  auto it = std::find_if(waiters.begin(), waiters.end(), [&](const auto& w) {
    return w.reply.to == reply.to && w.reply.correlation == reply.correlation;
  });
  if (it == waiters.end()) return std::nullopt;
  std::optional<typename Waiters::value_type> w(std::move(*it));
  waiters.erase(it);
  return w;
}

/// Appends a waiter for `reply`. If it is still waiting when `timeout` passes,
/// it is removed and `expired(waiter)` answers it. Returns the new waiter, so
/// that the caller can fill its other fields.
template <class Waiters, class Expired>
auto& enqueue_waiter(Waiters& waiters, const deferred_reply& reply, std::chrono::milliseconds timeout, context& ctx,
                     Expired expired) {
  uint64_t timer = ctx.after(timeout, [&waiters, reply, expired = std::move(expired)] {
    if (auto w = remove_waiter(waiters, reply)) expired(*w);
  });
  auto& w = waiters.emplace_back();
  w.timer = timer;
  w.reply = reply;
  return w;
}

/// enqueue_waiter() for the request being handled.
template <class Waiters, class Expired>
auto& defer_waiter(Waiters& waiters, std::chrono::milliseconds timeout, context& ctx, Expired expired) {
  return enqueue_waiter(waiters, ctx.defer(), timeout, ctx, std::move(expired));
}

/// Takes the oldest waiter out and cancels its timer: the caller answers it.
template <class Waiters>
auto pop_waiter(Waiters& waiters, context& ctx) {
  auto w = std::move(waiters.front());
  waiters.pop_front();
  ctx.cancel(w.timer);
  return w;
}

/// Removes every waiter of actor `who` (it died), cancelling their timers.
/// Returns how many there were.
template <class Waiters>
std::size_t drop_waiters_of(Waiters& waiters, uint64_t who, context& ctx) {
  return std::erase_if(waiters, [&](const auto& w) {
    if (w.reply.to != who) return false;
    ctx.cancel(w.timer);
    return true;
  });
}

/// Takes every waiter out, cancels its timer and calls `answer(waiter)`.
template <class Waiters, class Answer>
void answer_all(Waiters& waiters, context& ctx, Answer answer) {
  auto all = std::move(waiters);
  waiters.clear();
  for (auto& w : all) {
    ctx.cancel(w.timer);
    answer(w);
  }
}

}  // namespace actorproc::detail
