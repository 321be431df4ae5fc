#include "sync_actors.hpp"

#include "waiters.hpp"

namespace actorproc {

using detail::refuse;

barrier_actor::barrier_actor(context& ctx)
    : parties_(static_cast<uint32_t>(std::stoul(ctx.args().at(0)))), timeout_(std::stoul(ctx.args().at(1))) {
  if (parties_ == 0) throw std::invalid_argument("a barrier needs at least one party");
}

void barrier_actor::on(schema::BarrierWait::Reader m, context& ctx) {
  if (broken_) return refuse(ctx, errc::broken, "the barrier is broken (" + broken_by_ + "); reset() it");
  if (waiters_.size() + 1 == parties_) {
    // The last party: everyone passes, with its arrival index, and the next round begins.
    uint32_t index = 0;
    detail::answer_all(waiters_, ctx, [&](const detail::timed_waiter& w) {
      ctx.reply_to<schema::BarrierPassed>(w.reply, [&](schema::BarrierPassed::Builder b) { b.setIndex(index++); });
    });
    ctx.reply<schema::BarrierPassed>([&](schema::BarrierPassed::Builder b) { b.setIndex(index); });
    return;
  }
  detail::defer_waiter(waiters_, std::chrono::milliseconds(m.getTimeoutMillis()), ctx,
                       [this, &ctx](const detail::timed_waiter& w) {
                         ctx.fail(w.reply, errc::broken, "the barrier's wait timed out, which broke it");
                         break_barrier("a wait timed out", ctx);
                       });
  watched_.watch(ctx.sender().id, ctx);
}

void barrier_actor::on(schema::BarrierAbort::Reader, context& ctx) {
  break_barrier("abort() was called", ctx);
  ctx.reply<schema::SyncOk>();
}

void barrier_actor::on(schema::BarrierReset::Reader, context& ctx) {
  fail_waiters("the barrier was reset while they waited", ctx);
  broken_ = false;
  broken_by_.clear();
  ctx.reply<schema::SyncOk>();
}

void barrier_actor::on(schema::BarrierStat::Reader, context& ctx) {
  ctx.reply<schema::BarrierStatus>([&](schema::BarrierStatus::Builder s) {
    s.setParties(parties_);
    s.setWaiting(static_cast<uint32_t>(waiters_.size()));
    s.setBroken(broken_);
    s.setTimeoutMillis(detail::timeout_millis(timeout_));
  });
}

void barrier_actor::on_down(actor_ref who, const exit_reason& why, context& ctx) {
  watched_.forget(who.id);
  if (detail::drop_waiters_of(waiters_, who.id, ctx) > 0) {
    break_barrier("party " + std::to_string(who.id) + " died while waiting: " + to_string(why), ctx);
  }
}

void barrier_actor::break_barrier(const std::string& why, context& ctx) {
  if (!broken_) broken_by_ = why;
  broken_ = true;
  fail_waiters("the barrier broke: " + why, ctx);
}

void barrier_actor::fail_waiters(const std::string& why, context& ctx) {
  detail::answer_all(waiters_, ctx, [&](const detail::timed_waiter& w) { ctx.fail(w.reply, errc::broken, why); });
}

expected<actor_handle> start_barrier(node& n, barrier_options options) {
  if (options.parties == 0) return error(errc::invalid_argument, "a barrier needs at least one party");
  return n.spawn("actorproc.barrier",
                 {.name = options.name.empty() ? std::string("barrier") : options.name,
                  .args = {std::to_string(options.parties), std::to_string(detail::timeout_millis(options.timeout))}});
}

}  // namespace actorproc
