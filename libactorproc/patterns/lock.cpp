#include <actorproc/patterns/lock.hpp>

#include "waiters.hpp"

#include <algorithm>

namespace actorproc {

lock_actor::lock_actor(context& ctx) : reentrant_(!ctx.args().empty() && ctx.args()[0] == "reentrant") {}

void lock_actor::on(schema::LockAcquire::Reader m, context& ctx) {
  uint64_t who = ctx.sender().id;
  if (held_ && reentrant_ && holder_ == who) {
    ++depth_;
    ctx.reply<schema::LockGrant>([](schema::LockGrant::Builder g) { g.setGranted(true); });
    return;
  }
  if (!held_ && waiters_.empty()) return grant(ctx.defer(), ctx);
  if (!m.getBlock()) {
    ctx.reply<schema::LockGrant>([](schema::LockGrant::Builder g) { g.setGranted(false); });
    return;
  }
  auto reply = ctx.defer();
  uint64_t timer = ctx.after(std::chrono::milliseconds(m.getTimeoutMillis()), [this, &ctx, reply] {
    if (detail::remove_waiter(waiters_, reply)) {
      ctx.reply_to<schema::LockGrant>(reply, [](schema::LockGrant::Builder g) { g.setGranted(false); });
    }
  });
  waiters_.push_back({timer, reply});
  if (who != 0 && watched_.insert(who).second) ctx.monitor({who});  // a waiter may die too
}

void lock_actor::on(schema::LockRelease::Reader, context& ctx) {
  if (!held_ || holder_ != ctx.sender().id) {
    ctx.fail(ctx.defer(), errc::invalid_argument,
             held_ ? "release() by an actor that does not hold the lock" : "release() of an unlocked lock");
    return;
  }
  ctx.reply<schema::LockReleased>();
  if (depth_ > 1) {
    --depth_;
    return;
  }
  held_ = false;
  depth_ = 0;
  hand_over(ctx);
}

void lock_actor::on_down(actor_ref who, const exit_reason& why, context& ctx) {
  watched_.erase(who.id);
  std::erase_if(waiters_, [&](const waiter& w) {
    if (w.reply.to != who.id) return false;
    ctx.cancel(w.timer);
    return true;
  });
  if (held_ && holder_ == who.id) {
    // Released by death: the next holder is told, so it can repair the state.
    held_ = false;
    depth_ = 0;
    died_.emplace(who.id, why);
    hand_over(ctx);
  }
}

void lock_actor::grant(const deferred_reply& to, context& ctx) {
  held_ = true;
  holder_ = to.to;
  depth_ = 1;
  ctx.reply_to<schema::LockGrant>(to, [&](schema::LockGrant::Builder g) {
    g.setGranted(true);
    if (died_) {
      g.setPreviousHolderDied(true);
      g.setPreviousHolder(died_->first);
      g.setPreviousHolderReason(to_string(died_->second));
    }
  });
  died_.reset();
  if (holder_ != 0 && watched_.insert(holder_).second) ctx.monitor({holder_});
}

void lock_actor::hand_over(context& ctx) {
  if (held_ || waiters_.empty()) return;
  auto next = waiters_.front();
  waiters_.pop_front();
  ctx.cancel(next.timer);
  grant(next.reply, ctx);
}

expected<actor_handle> start_lock(node& n, lock_options options) {
  return n.spawn("actorproc.lock",
                 {.name = options.name.empty() ? std::string(options.reentrant ? "rlock" : "lock") : options.name,
                  .args = {options.reentrant ? "reentrant" : "plain"}});
}

}  // namespace actorproc
