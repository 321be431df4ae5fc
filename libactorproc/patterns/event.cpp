#include "sync_actors.hpp"

#include "waiters.hpp"

namespace actorproc {

void event_actor::on(schema::EventSet::Reader, context& ctx) {
  set_ = true;
  detail::answer_all(waiters_, ctx, [&](const detail::timed_waiter& w) { reply_state(w.reply, ctx); });
  ctx.reply<schema::SyncOk>();
}

void event_actor::on(schema::EventClear::Reader, context& ctx) {
  set_ = false;
  ctx.reply<schema::SyncOk>();
}

void event_actor::on(schema::EventWait::Reader m, context& ctx) {
  if (set_) return reply_state(ctx.defer(), ctx);
  // A waiter that dies is not watched: its timer ends its wait, and an answer to a dead actor is dropped.
  detail::defer_waiter(waiters_, std::chrono::milliseconds(m.getTimeoutMillis()), ctx,
                       [this, &ctx](const detail::timed_waiter& w) { reply_state(w.reply, ctx); });
}

void event_actor::on(schema::EventStat::Reader, context& ctx) { reply_state(ctx.defer(), ctx); }

void event_actor::reply_state(const deferred_reply& to, context& ctx) {
  ctx.reply_to<schema::EventState>(to, [&](schema::EventState::Builder s) {
    s.setIsSet(set_);
    s.setWaiting(static_cast<uint32_t>(waiters_.size()));
  });
}

expected<actor_handle> start_event(node& n, event_options options) {
  return n.spawn("actorproc.event", {.name = options.name.empty() ? std::string("event") : options.name});
}

}  // namespace actorproc
