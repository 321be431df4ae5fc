#include "lock_actor.hpp"

#include "waiters.hpp"

#include <cstdio>

namespace actorproc {
namespace detail {

void lock_core::acquire(schema::LockAcquire::Reader m, context& ctx) {
  uint64_t who = ctx.sender().id;
  if (held_ && reentrant_ && holder_ == who) {
    ++depth_;
    ctx.reply<schema::LockGrant>([](schema::LockGrant::Builder g) { g.setGranted(true); });
    return;
  }
  if (!held_ && waiters_.empty()) return grant({.reply = ctx.defer()}, ctx);
  if (!m.getBlock()) {
    ctx.reply<schema::LockGrant>([](schema::LockGrant::Builder g) { g.setGranted(false); });
    return;
  }
  defer_waiter(waiters_, std::chrono::milliseconds(m.getTimeoutMillis()), ctx, [&ctx](const waiter& w) {
    ctx.reply_to<schema::LockGrant>(w.reply, [](schema::LockGrant::Builder g) { g.setGranted(false); });
  });
  watched_.watch(who, ctx);  // a waiter may die too
}

void lock_core::release(context& ctx) {
  if (!held_by(ctx.sender().id)) {
    std::string what =
        held_ ? "release() by an actor that does not hold the lock" : "release() of an unlocked lock";
    if (ctx.is_request()) return refuse(ctx, errc::invalid_argument, what);
    // release_nowait(): nobody waits for an answer, so the refusal is logged.
    std::fprintf(stderr, "actorproc: lock (id %llu): %s (actor %llu, one-way); ignored\n",
                 static_cast<unsigned long long>(ctx.id()), what.c_str(),
                 static_cast<unsigned long long>(ctx.sender().id));
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

std::size_t lock_core::release_all(context& ctx) {
  std::size_t depth = depth_;
  held_ = false;
  depth_ = 0;
  hand_over(ctx);
  return depth;
}

void lock_core::reacquire(const deferred_reply& reply, std::size_t depth, bool notified,
                          std::chrono::milliseconds timeout, context& ctx) {
  if (!held_ && waiters_.empty()) return grant({.reply = reply, .depth = depth, .notified = notified}, ctx);
  auto& queued = enqueue_waiter(waiters_, reply, timeout, ctx, [&ctx](const waiter& w) {
    ctx.fail(w.reply, errc::timeout, "the condition's lock was not free again within the re-acquire timeout");
  });
  queued.depth = depth;
  queued.notified = notified;
}

void lock_core::on_down(actor_ref who, const exit_reason& why, context& ctx) {
  watched_.forget(who.id);
  drop_waiters_of(waiters_, who.id, ctx);
  if (held_by(who.id)) {
    // Released by death: the next holder is told, so it can repair the state.
    held_ = false;
    depth_ = 0;
    died_.emplace(who.id, why);
    hand_over(ctx);
  }
}

void lock_core::grant(const waiter& to, context& ctx) {
  held_ = true;
  holder_ = to.reply.to;
  depth_ = to.depth;
  ctx.reply_to<schema::LockGrant>(to.reply, [&](schema::LockGrant::Builder g) {
    g.setGranted(true);
    g.setNotified(to.notified);
    if (died_) {
      g.setPreviousHolderDied(true);
      g.setPreviousHolder(died_->first);
      g.setPreviousHolderReason(to_string(died_->second));
    }
  });
  died_.reset();
  watched_.watch(holder_, ctx);
}

void lock_core::hand_over(context& ctx) {
  if (held_ || waiters_.empty()) return;
  grant(pop_waiter(waiters_, ctx), ctx);
}

}  // namespace detail

lock_actor::lock_actor(context& ctx) : lock_(!ctx.args().empty() && ctx.args()[0] == "reentrant") {}

expected<actor_handle> start_lock(node& n, lock_options options) {
  return n.spawn("actorproc.lock",
                 {.name = options.name.empty() ? std::string(options.reentrant ? "rlock" : "lock") : options.name,
                  .args = {options.reentrant ? "reentrant" : "plain"}});
}

}  // namespace actorproc
