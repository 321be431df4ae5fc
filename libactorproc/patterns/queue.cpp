#include "queue_actor.hpp"

#include "waiters.hpp"

#include <algorithm>

namespace actorproc {

using detail::refuse;

queue_actor::queue_actor(context& ctx)
    : maxsize_(ctx.args().empty() ? 1000 : std::max<std::size_t>(1, std::stoul(ctx.args()[0]))),
      joinable_(ctx.args().size() > 1 && ctx.args()[1] == "joinable") {}

void queue_actor::on(schema::QueuePut::Reader m, context& ctx) {
  if (closed_) return refuse(ctx, errc::queue_closed, "the queue is closed");
  auto item = std::make_unique<capnp::MallocMessageBuilder>();
  auto root = item->initRoot<schema::QueueItem>();
  root.setItemType(m.getItemType());
  root.getItem().set(m.getItem());
  if (items_.size() < maxsize_ && putters_.empty()) {
    admit(std::move(item), ctx);
    ctx.reply<schema::QueueOk>();
    return;
  }
  if (!m.getBlock()) return refuse(ctx, errc::queue_full, "the queue is full");
  auto reply = ctx.defer();
  uint64_t timer = ctx.after(std::chrono::milliseconds(m.getTimeoutMillis()), [this, &ctx, reply] {
    if (detail::remove_waiter(putters_, reply))
      ctx.fail(reply, errc::queue_full, "the queue stayed full for the whole timeout");
  });
  putters_.push_back({timer, reply, std::move(item)});
}

void queue_actor::on(schema::QueueGet::Reader m, context& ctx) {
  if (!items_.empty()) {
    auto item = std::move(items_.front());
    items_.pop_front();
    give(std::move(item), ctx.defer(), ctx);
    serve(ctx);  // room for a waiting putter
    return;
  }
  if (closed_) return refuse(ctx, errc::queue_closed, "the queue is closed and drained");
  if (!m.getBlock()) return refuse(ctx, errc::queue_empty, "the queue is empty");
  auto reply = ctx.defer();
  uint64_t timer = ctx.after(std::chrono::milliseconds(m.getTimeoutMillis()), [this, &ctx, reply] {
    if (detail::remove_waiter(getters_, reply))
      ctx.fail(reply, errc::queue_empty, "the queue stayed empty for the whole timeout");
  });
  getters_.push_back({timer, reply});
}

void queue_actor::on(schema::QueueTaskDone::Reader m, context& ctx) {
  if (!joinable_) return refuse(ctx, errc::invalid_argument, "task_done() on a queue that is not joinable");
  uint64_t consumer = ctx.sender().id;
  auto it = std::find_if(in_progress_.begin(), in_progress_.end(), [&](const taken& t) {
    return m.getTicket() != 0 ? t.ticket == m.getTicket() : t.consumer == consumer;
  });
  if (it == in_progress_.end()) {
    return refuse(ctx, errc::invalid_argument, "task_done() called more times than items were taken");
  }
  in_progress_.erase(it);
  --unfinished_;
  ctx.reply<schema::QueueOk>();
  if (unfinished_ == 0) {
    for (auto& j : joiners_) ctx.reply_to<schema::QueueOk>(j);
    joiners_.clear();
  }
}

void queue_actor::on(schema::QueueJoin::Reader, context& ctx) {
  if (!joinable_) return refuse(ctx, errc::invalid_argument, "join() on a queue that is not joinable");
  if (unfinished_ == 0) {
    ctx.reply<schema::QueueOk>();
  } else {
    joiners_.push_back(ctx.defer());
  }
}

void queue_actor::on(schema::QueueClose::Reader, context& ctx) {
  closed_ = true;
  for (auto& w : putters_) {
    ctx.cancel(w.timer);
    ctx.fail(w.reply, errc::queue_closed, "the queue was closed");
  }
  putters_.clear();
  serve(ctx);
  if (ctx.is_request()) ctx.reply<schema::QueueOk>();
}

void queue_actor::on(schema::QueueStat::Reader, context& ctx) {
  ctx.reply<schema::QueueStatus>([&](schema::QueueStatus::Builder s) {
    s.setSize(static_cast<uint32_t>(items_.size()));
    s.setMaxsize(static_cast<uint32_t>(maxsize_));
    s.setClosed(closed_);
    s.setUnfinished(static_cast<uint32_t>(unfinished_));
    s.setRedelivered(redelivered_);
  });
}

void queue_actor::on_down(actor_ref who, const exit_reason&, context& ctx) {
  watched_.erase(who.id);
  // At least once: what the dead consumer held goes back to the front, in order.
  std::vector<item_ptr> back;
  for (auto it = in_progress_.begin(); it != in_progress_.end();) {
    if (it->consumer == who.id) {
      back.push_back(std::move(it->item));
      it = in_progress_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = back.rbegin(); it != back.rend(); ++it) items_.push_front(std::move(*it));
  redelivered_ += back.size();
  serve(ctx);
}

void queue_actor::give(item_ptr item, const deferred_reply& to, context& ctx) {
  auto stored = item->getRoot<schema::QueueItem>();
  uint64_t ticket = joinable_ ? next_ticket_++ : 0;
  ctx.reply_to<schema::QueueItem>(to, [&](schema::QueueItem::Builder out) {
    out.setItemType(stored.getItemType());
    out.getItem().set(stored.getItem().asReader());
    out.setTicket(ticket);
  });
  if (!joinable_) return;
  in_progress_.push_back({ticket, to.to, std::move(item)});
  if (to.to != 0 && watched_.insert(to.to).second) ctx.monitor({to.to});
}

void queue_actor::admit(item_ptr item, context& ctx) {
  if (joinable_) ++unfinished_;
  if (!getters_.empty()) {
    auto waiting = getters_.front();
    getters_.pop_front();
    ctx.cancel(waiting.timer);
    give(std::move(item), waiting.reply, ctx);
    return;
  }
  items_.push_back(std::move(item));
}

// Moves waiting putters in while there is room, hands items to waiting getters,
// and tells getters of a closed, drained queue.
void queue_actor::serve(context& ctx) {
  while (!putters_.empty() && items_.size() < maxsize_) {
    auto w = std::move(putters_.front());
    putters_.pop_front();
    ctx.cancel(w.timer);
    ctx.reply_to<schema::QueueOk>(w.reply);
    admit(std::move(w.item), ctx);
  }
  while (!getters_.empty() && !items_.empty()) {
    auto w = getters_.front();
    getters_.pop_front();
    ctx.cancel(w.timer);
    auto item = std::move(items_.front());
    items_.pop_front();
    give(std::move(item), w.reply, ctx);
  }
  if (closed_ && items_.empty()) {
    for (auto& w : getters_) {
      ctx.cancel(w.timer);
      ctx.fail(w.reply, errc::queue_closed, "the queue is closed and drained");
    }
    getters_.clear();
  }
}

expected<actor_handle> start_queue(node& n, queue_options options) {
  return n.spawn(
      "actorproc.queue",
      {.name = options.name.empty() ? std::string(options.joinable ? "joinable_queue" : "queue") : options.name,
       .args = {std::to_string(options.maxsize), options.joinable ? "joinable" : "simple"}});
}

}  // namespace actorproc
