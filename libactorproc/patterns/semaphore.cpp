#include "sync_actors.hpp"

#include "waiters.hpp"

namespace actorproc {

using detail::refuse;

semaphore_actor::semaphore_actor(context& ctx)
    : initial_(std::stoull(ctx.args().at(0))),
      value_(initial_),
      bounded_(ctx.args().at(1) == "bounded"),
      return_on_death_(ctx.args().at(2) == "return") {}

void semaphore_actor::on(schema::SemaphoreAcquire::Reader m, context& ctx) {
  if (value_ > 0 && waiters_.empty()) return grant(ctx.defer(), ctx);
  if (!m.getBlock()) {
    ctx.reply<schema::SemaphoreGrant>([](schema::SemaphoreGrant::Builder g) { g.setGranted(false); });
    return;
  }
  detail::defer_waiter(
      waiters_, std::chrono::milliseconds(m.getTimeoutMillis()), ctx, [&ctx](const detail::timed_waiter& w) {
        ctx.reply_to<schema::SemaphoreGrant>(w.reply, [](schema::SemaphoreGrant::Builder g) { g.setGranted(false); });
      });
  watched_.watch(ctx.sender().id, ctx);  // a waiter may die too
}

void semaphore_actor::on(schema::SemaphoreRelease::Reader m, context& ctx) {
  uint64_t n = m.getN();
  if (bounded_ && value_ + n > initial_) {
    return refuse(ctx, errc::invalid_argument,
                  "release() of a bounded semaphore above its initial value " + std::to_string(initial_) +
                      " (Python's ValueError)");
  }
  value_ += n;
  // What the releaser holds is returned first; the rest is a release on behalf of others (a signal).
  if (auto it = held_.find(ctx.sender().id); it != held_.end()) {
    it->second -= std::min(it->second, n);
    if (it->second == 0) held_.erase(it);
  }
  ctx.reply<schema::SyncOk>();
  serve(ctx);
}

void semaphore_actor::on(schema::SemaphoreStat::Reader, context& ctx) {
  ctx.reply<schema::SemaphoreStatus>([&](schema::SemaphoreStatus::Builder s) {
    s.setValue(value_);
    s.setInitial(initial_);
    s.setBounded(bounded_);
    s.setWaiting(static_cast<uint32_t>(waiters_.size()));
  });
}

void semaphore_actor::on_down(actor_ref who, const exit_reason&, context& ctx) {
  watched_.forget(who.id);
  detail::drop_waiters_of(waiters_, who.id, ctx);
  auto it = held_.find(who.id);
  if (it == held_.end()) return;
  if (return_on_death_) {
    // Others may have released on its behalf already: a bounded semaphore stays at most at its initial value.
    value_ += bounded_ ? std::min(it->second, initial_ - value_) : it->second;
  }
  held_.erase(it);
  serve(ctx);
}

void semaphore_actor::grant(const deferred_reply& to, context& ctx) {
  --value_;
  ++held_[to.to];
  watched_.watch(to.to, ctx);
  ctx.reply_to<schema::SemaphoreGrant>(to, [](schema::SemaphoreGrant::Builder g) { g.setGranted(true); });
}

void semaphore_actor::serve(context& ctx) {
  while (value_ > 0 && !waiters_.empty()) grant(detail::pop_waiter(waiters_, ctx).reply, ctx);
}

expected<actor_handle> start_semaphore(node& n, semaphore_options options) {
  return n.spawn(
      "actorproc.semaphore",
      {.name = options.name.empty() ? std::string(options.bounded ? "bounded_semaphore" : "semaphore") : options.name,
       .args = {std::to_string(options.value), options.bounded ? "bounded" : "plain",
                options.return_on_death ? "return" : "keep"}});
}

}  // namespace actorproc
