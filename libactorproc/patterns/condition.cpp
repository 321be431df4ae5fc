#include "sync_actors.hpp"

#include "waiters.hpp"

namespace actorproc {

using detail::refuse;

void condition_actor::on(schema::ConditionWait::Reader m, context& ctx) {
  if (!lock_.held_by(ctx.sender().id)) {
    return refuse(ctx, errc::invalid_argument, "wait() on a condition whose lock the caller does not hold");
  }
  auto& w = detail::defer_waiter(waiters_, std::chrono::milliseconds(m.getTimeoutMillis()), ctx,
                                 [this, &ctx](const waiter& expired) { wake(expired, false, ctx); });
  w.reacquire = std::chrono::milliseconds(m.getReacquireMillis());
  w.depth = lock_.release_all(ctx);  // after the waiter is queued: the lock may go to someone at once
}

void condition_actor::on(schema::ConditionNotify::Reader m, context& ctx) {
  if (!lock_.held_by(ctx.sender().id)) {
    return refuse(ctx, errc::invalid_argument, "notify() on a condition whose lock the caller does not hold");
  }
  std::size_t n = m.getAll() ? waiters_.size() : std::min<std::size_t>(m.getN(), waiters_.size());
  for (std::size_t i = 0; i < n; ++i) wake(detail::pop_waiter(waiters_, ctx), true, ctx);
  ctx.reply<schema::ConditionNotified>(
      [&](schema::ConditionNotified::Builder b) { b.setWoken(static_cast<uint32_t>(n)); });
}

void condition_actor::on(schema::ConditionStat::Reader, context& ctx) {
  ctx.reply<schema::ConditionStatus>([&](schema::ConditionStatus::Builder s) {
    s.setWaiting(static_cast<uint32_t>(waiters_.size()));
    s.setHeld(lock_.held());
  });
}

void condition_actor::on_down(actor_ref who, const exit_reason& why, context& ctx) {
  detail::drop_waiters_of(waiters_, who.id, ctx);
  lock_.on_down(who, why, ctx);
}

void condition_actor::wake(const waiter& w, bool notified, context& ctx) {
  lock_.reacquire(w.reply, w.depth, notified, w.reacquire, ctx);
}

expected<actor_handle> start_condition(node& n, condition_options options) {
  return n.spawn("actorproc.condition", {.name = options.name.empty() ? std::string("condition") : options.name});
}

}  // namespace actorproc
