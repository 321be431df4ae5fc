#include "queue_actor.hpp"

#include <actorproc/patterns/queue_rules.hpp>

#include <capnp/message.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace actorproc {

using detail::refuse;
namespace rules = detail::queue_rules;

namespace {

// The words of a struct without pointers (a few ints, say): its data section;
// 0 for any other item, which takes the general path. Such a struct needs no
// traversal to size, and its copy is its data behind a root pointer.
std::size_t data_only_words(capnp::AnyPointer::Reader item) {
  if (item.getPointerType() != capnp::PointerType::STRUCT) return 0;
  auto s = item.getAs<capnp::AnyStruct>();
  if (s.getPointerSection().size() != 0) return 0;
  return s.getDataSection().size() / sizeof(capnp::word);  // 0 for an empty struct: it has its own encoding
}

}  // namespace

stored_item::stored_item(uint64_t type, capnp::AnyPointer::Reader item) : type_(type) {
  std::size_t data_words = data_only_words(item);
  size_ = (data_words > 0 ? data_words : item.targetSize().wordCount) + 1;
  if (size_ > inline_words) large_ = kj::heapArray<capnp::word>(size_);
  capnp::word* out = data();
  std::memset(out, 0, size_ * sizeof(capnp::word));
  if (data_words > 0) {
    // A struct pointer (capnp's encoding, little-endian): kind 0 and offset 0
    // in the low 32 bits (the struct follows it), data words in the next 16,
    // pointer count (0) in the top 16.
    uint64_t root = uint64_t(data_words) << 32;
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(root >> (8 * i));
    std::memcpy(out, bytes, 8);
    std::memcpy(out + 1, item.getAs<capnp::AnyStruct>().getDataSection().begin(), data_words * sizeof(capnp::word));
    return;
  }
  // copyToUnchecked's layout (one segment, root pointer first), which
  // readMessageUnchecked reads without checks: the copy is ours, made from a
  // message the runtime validated.
  capnp::FlatMessageBuilder flat(kj::arrayPtr(out, size_));
  flat.getRoot<capnp::AnyPointer>().set(item);
  flat.requireFilled();
}

capnp::AnyPointer::Reader stored_item::read() const { return capnp::readMessageUnchecked<capnp::AnyPointer>(data()); }

queue_actor::queue_actor(context& ctx)
    : maxsize_(ctx.args().empty() ? 1000 : std::max<std::size_t>(1, std::stoul(ctx.args()[0]))),
      joinable_(ctx.args().size() > 1 && ctx.args()[1] == "joinable") {}

queue_actor::client& queue_actor::client_of(uint64_t number, context& ctx) {
  watched_.watch(ctx.sender().id, ctx);  // its death returns what it holds
  return clients_[{ctx.sender().id, number}];
}

// A client that holds neither credits nor a batch is forgotten (clients come
// and go, e.g. one per handler), and known again when it next asks.
void queue_actor::forget_if_idle(client_key key) {
  auto it = clients_.find(key);
  if (it != clients_.end() && it->second.credits == 0 && it->second.batch == 0) clients_.erase(it);
}

std::size_t queue_actor::room() const { return rules::room(maxsize_, items_.size(), credits_); }

void queue_actor::on(schema::QueueReserve::Reader m, context& ctx) {
  if (closed_) return refuse(ctx, errc::queue_closed, "the queue is closed");
  client_key key{ctx.sender().id, m.getClient()};
  if (reserves_.empty()) {
    if (uint32_t granted = rules::grant(room(), m.getWant(), 0)) {
      client_of(m.getClient(), ctx).credits += granted;
      credits_ += granted;
      ctx.reply<schema::QueueCredit>([&](schema::QueueCredit::Builder b) { b.setGranted(granted); });
      return;
    }
  }
  if (!m.getBlock()) return refuse(ctx, errc::queue_full, "the queue is full");
  auto& w = detail::defer_waiter(reserves_, std::chrono::milliseconds(m.getTimeoutMillis()), ctx,
                                 [&ctx](waiting_reserve& expired) {
                                   ctx.fail(expired.reply, errc::queue_full,
                                            "the queue stayed full for the whole timeout");
                                 });
  w.key = key;
  w.want = m.getWant();
}

void queue_actor::on(schema::QueuePut::Reader m, context& ctx) {
  auto it = clients_.find({ctx.sender().id, m.getClient()});
  if (it != clients_.end() && it->second.credits > 0) {
    --credits_;
    if (--it->second.credits == 0 && it->second.batch == 0) clients_.erase(it);  // until it asks again
  } else {
    // Only a client that breaks the protocol puts without a credit; its item
    // is kept all the same (nothing accepted is dropped).
    std::fprintf(stderr, "actorproc.queue: a put without a credit from actor %llu\n",
                 static_cast<unsigned long long>(ctx.sender().id));
  }
  items_.emplace_back(m.getItemType(), m.getItem());
  if (joinable_) ++unfinished_;
  if (!getters_.empty()) serve_later(ctx);
}

void queue_actor::on(schema::QueueGet::Reader m, context& ctx) {
  settle(client_of(m.getClient(), ctx));  // it asks again: it handed out its last batch
  serve_getters(ctx);                     // those waiting come first
  if (!items_.empty()) {
    client_key key{ctx.sender().id, m.getClient()};
    give(key, ctx.defer(), rules::fetch(items_.size(), m.getMax(), other_consumers(key)), ctx);
    serve_reserves(ctx);
    return;
  }
  forget_if_idle({ctx.sender().id, m.getClient()});  // a waiting getter's entry comes back with its batch
  if (closed_) return refuse(ctx, errc::queue_closed, "the queue is closed and drained");
  if (!m.getBlock()) return refuse(ctx, errc::queue_empty, "the queue is empty");
  auto& w = detail::defer_waiter(getters_, std::chrono::milliseconds(m.getTimeoutMillis()), ctx,
                                 [&ctx](waiting_get& expired) {
                                   ctx.fail(expired.reply, errc::queue_empty,
                                            "the queue stayed empty for the whole timeout");
                                 });
  w.key = {ctx.sender().id, m.getClient()};
  w.max = m.getMax();
}

void queue_actor::on(schema::QueueTaskDone::Reader m, context& ctx) {
  if (!joinable_) {
    if (ctx.is_request()) refuse(ctx, errc::invalid_argument, "task_done() on a queue that is not joinable");
    return;
  }
  uint64_t sender = ctx.sender().id;
  uint64_t ticket = m.getTicket();
  if (ticket == 0) {  // the client has none of its own: its process's oldest, from a client that let go
    ticket = fetched_.oldest_handed([&](const client_key& owner) { return owner.first == sender; });
  }
  // A one-way notice acknowledges a run of tickets (its client's task_done()
  // calls before it left); a request, one.
  std::size_t count = ticket == 0 ? 1 : std::max<uint32_t>(1, m.getCount());
  std::size_t settled = ticket == 0 ? 0 : fetched_.settle(ticket, count);
  if (settled > 0) acknowledged(settled, ctx);
  if (settled < count) {
    const char* why = m.getTicket() != 0 ? "task_done(): no unacknowledged item has this ticket"
                                         : "task_done() called more times than items were taken";
    if (ctx.is_request()) return refuse(ctx, errc::invalid_argument, why);
    std::fprintf(stderr, "actorproc.queue: %s (%zu of %zu, from actor %llu)\n", why, count - settled, count,
                 static_cast<unsigned long long>(sender));
    return;
  }
  if (ctx.is_request()) ctx.reply<schema::QueueOk>();
}

void queue_actor::on(schema::QueueRelease::Reader m, context& ctx) {
  auto it = clients_.find({ctx.sender().id, m.getClient()});
  if (it == clients_.end()) return;
  client& c = it->second;
  std::size_t credits = std::min<std::size_t>(c.credits, m.getCredits());
  c.credits -= credits;
  credits_ -= credits;
  // The last `unused` items of its batch were never handed out: back to the front.
  std::size_t unused = std::min<std::size_t>(c.batch_size, m.getUnused());
  std::vector<uint64_t> back;
  for (uint64_t seq = c.batch + c.batch_size - unused; seq < c.batch + c.batch_size; ++seq) back.push_back(seq);
  give_back(back);
  settle(c);
  forget_if_idle(it->first);
  serve_reserves(ctx);
  serve_getters(ctx);
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
  detail::answer_all(reserves_, ctx,
                     [&](waiting_reserve& w) { ctx.fail(w.reply, errc::queue_closed, "the queue was closed"); });
  serve_getters(ctx);
  if (ctx.is_request()) ctx.reply<schema::QueueOk>();
}

void queue_actor::on(schema::QueueStat::Reader, context& ctx) {
  serve_getters(ctx);  // so that size counts nothing a waiting getter is about to get
  ctx.reply<schema::QueueStatus>([&](schema::QueueStatus::Builder s) {
    s.setSize(static_cast<uint32_t>(items_.size()));
    s.setMaxsize(static_cast<uint32_t>(maxsize_));
    s.setClosed(closed_);
    s.setUnfinished(static_cast<uint32_t>(unfinished_));
    s.setRedelivered(redelivered_);
    s.setCredits(static_cast<uint32_t>(credits_));
    s.setFetched(static_cast<uint32_t>(fetched_.size()));
  });
}

void queue_actor::on_down(actor_ref who, const exit_reason&, context& ctx) {
  watched_.forget(who.id);
  detail::drop_waiters_of(reserves_, who.id, ctx);
  detail::drop_waiters_of(getters_, who.id, ctx);
  for (auto it = clients_.lower_bound({who.id, 0}); it != clients_.end() && it->first.first == who.id;) {
    credits_ -= it->second.credits;
    it = clients_.erase(it);
  }
  // At least once: what the dead process had not settled goes back, in order.
  auto back = fetched_.unsettled_of([&](const client_key& owner) { return owner.first == who.id; });
  redelivered_ += back.size();
  give_back(back);
  serve_reserves(ctx);
  serve_getters(ctx);
}

// Hands `count` items (fewer if the batch grows past batch_words) from the
// front to `key`'s client, which remembers them until they are settled.
void queue_actor::give(const client_key& key, const deferred_reply& to, std::size_t count, context& ctx) {
  std::size_t words = 0, n = 0;
  while (n < count && n < items_.size() && (n == 0 || words < rules::batch_words)) words += items_[n++].words();
  client& c = clients_[key];
  c.batch = next_seq_;
  c.batch_size = n;
  next_seq_ += n;
  std::vector<stored_item> given;
  given.reserve(n);
  // Its list and items in one segment: a consumer reads each item behind a far
  // pointer otherwise (a segment lookup under a lock, per item).
  constexpr std::size_t entry_words =
      schema::QueueEntry::_capnpPrivate::dataWordSize + schema::QueueEntry::_capnpPrivate::pointerCount;
  std::size_t expected_words = words + n * entry_words + 16;
  ctx.reply_to<schema::QueueBatch>(to, [&](schema::QueueBatch::Builder b) {
    auto list = b.initItems(static_cast<unsigned>(n));
    for (unsigned i = 0; i < n; ++i) {
      auto& item = items_.front();
      list[i].setItemType(item.type());
      list[i].getItem().set(item.read());
      list[i].setTicket(joinable_ ? c.batch + i : 0);
      given.push_back(std::move(item));
      items_.pop_front();
    }
  }, expected_words);
  fetched_.add(c.batch, key, std::move(given));
}

// The client's last batch was handed out: a plain queue is done with it; a
// joinable one waits for the acknowledgements.
void queue_actor::settle(client& c) {
  if (c.batch == 0) return;
  if (joinable_) {
    fetched_.mark_handed(c.batch);
  } else {
    fetched_.drop(c.batch);
  }
  c.batch = 0;
  c.batch_size = 0;
}

// Puts fetched items (ascending sequence numbers) back at the front, in order.
void queue_actor::give_back(const std::vector<uint64_t>& seqs) {
  for (auto s = seqs.rbegin(); s != seqs.rend(); ++s) {
    if (auto item = fetched_.take(*s)) items_.push_front(std::move(*item));
  }
}

// `count` items were acknowledged: the joiners are answered once none is left.
void queue_actor::acknowledged(std::size_t count, context& ctx) {
  unfinished_ -= std::min(count, unfinished_);
  if (unfinished_ > 0) return;
  for (auto& j : joiners_) ctx.reply_to<schema::QueueOk>(j);
  joiners_.clear();
}

// The consumers a get shares the queued items with: the getters waiting, and
// the other clients still working through a batch (each may soon ask again).
std::size_t queue_actor::other_consumers(const client_key& key) const {
  std::size_t working = 0;
  for (const auto& [k, c] : clients_) working += (k != key && c.batch != 0) ? 1 : 0;
  return getters_.size() + working;
}

// Grants waiting reservations, in arrival order, while there is room.
void queue_actor::serve_reserves(context& ctx) {
  while (!reserves_.empty()) {
    uint32_t granted = rules::grant(room(), reserves_.front().want, reserves_.size() - 1);
    if (granted == 0) return;
    auto w = detail::pop_waiter(reserves_, ctx);
    clients_[w.key].credits += granted;
    credits_ += granted;
    ctx.reply_to<schema::QueueCredit>(w.reply, [&](schema::QueueCredit::Builder b) { b.setGranted(granted); });
  }
}

// Hands items to waiting getters, in arrival order, each its share; tells
// those of a closed, drained queue.
void queue_actor::serve_getters(context& ctx) {
  serve_pending_ = false;
  while (!getters_.empty() && !items_.empty()) {
    auto w = detail::pop_waiter(getters_, ctx);
    give(w.key, w.reply, rules::fetch(items_.size(), w.max, other_consumers(w.key)), ctx);
  }
  if (closed_ && items_.empty()) {
    detail::answer_all(getters_, ctx, [&](waiting_get& w) {
      ctx.fail(w.reply, errc::queue_closed, "the queue is closed and drained");
    });
  }
  serve_reserves(ctx);
}

// Puts arrive in batches: waiting getters are served once the batch has been
// handled (a timer runs between two frames), so that each gets many items at
// once rather than one per put.
void queue_actor::serve_later(context& ctx) {
  if (serve_pending_) return;
  serve_pending_ = true;
  ctx.after(std::chrono::milliseconds(0), [this, &ctx] {
    if (serve_pending_) serve_getters(ctx);
  });
}

expected<actor_handle> start_queue(node& n, queue_options options) {
  return n.spawn(
      "actorproc.queue",
      {.name = options.name.empty() ? std::string(options.joinable ? "joinable_queue" : "queue") : options.name,
       .args = {std::to_string(options.maxsize), options.joinable ? "joinable" : "simple"}});
}

}  // namespace actorproc
