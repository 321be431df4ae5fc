#pragma once
// Queue and JoinableQueue, as actors: Python's multiprocessing.Queue semantics,
// bounded, reachable from the node and from any actor.
//
//   actorproc::add_queue(actors);                         // in main(), before run_if_worker
//   ...
//   auto q = actorproc::start_queue(node, {.maxsize = 100, .joinable = true}).value();
//   actorproc::queue_client<actorproc::actor_handle> queue(q);      // from the node
//   queue.put<Job>([](Job::Builder b) { b.setId(1); });
//   // in a consumer actor, with the queue's id from a message:
//   auto in = actorproc::queue_in(ctx, {queue_id});
//   auto job = in.get<Job>(5s);                 // expected<queue_item<Job>>
//   ... in.task_done();
//
// The queue is an actor (its own process); items are any Cap'n Proto struct,
// copied into the queue. A queue_client does not make a round trip per item:
// - A put spends a *credit*: a promise of room that the queue granted ahead.
//   With a credit in hand, put() is a one-way message (and a worker's
//   consecutive puts leave as one batch); without one, it asks the queue for a
//   block of credits and waits, as a put on a full queue waits. The queue
//   grants credits only against free room (queued items + credits granted and
//   not yet spent <= maxsize, so the bound holds), fewer when room is scarce
//   (down to one, so a small queue behaves as if every put were a request),
//   and takes back the unused credits of a client that is destroyed or whose
//   process dies.
// - A get fetches a bounded *batch* (like AMQP's prefetch) and hands its items
//   out one by one, the later ones without asking the queue. The batch is what
//   the client would hand out within about queue_client_options::horizon at
//   its recent pace (so a slow consumer fetches one item at a time and never
//   sits on work others could do), at most `prefetch` items and 256 KiB, and
//   never more than a fair share of what is queued while other getters wait.
// - task_done() is one-way. In an actor, consecutive task_done() calls whose
//   notice has not left yet (the actor has not waited since) add to that
//   notice's count instead of sending one each (context::unsent_last): the
//   queue settles the run at once, in the same place among the actor's sends.
//   Like any one-way message, the notice leaves when the actor next waits
//   (its next get(), the end of its handler), so join() and status() see a
//   run of acknowledgements then.
// The sizes adapt per client (detail::batch_sizer); options fix them.
//
// Semantics (Python's, where they are sound):
// - put() waits while the queue is full, up to its timeout, then fails with
//   queue_full; put_nowait() fails at once. get() waits while it is empty, up
//   to its timeout, then fails with queue_empty; get_nowait() at once. Waiting
//   putters and getters are served in arrival order.
// - A put that returned ok is delivered: its credit reserved the room, and a
//   close() that comes in between still accepts it. Like any one-way message,
//   it is lost only if its process dies before the message left it (Python's
//   feeder thread has the same window); a worker's exit flushes it.
// - close(): later gets drain what is left, then fail with queue_closed (so
//   consumers can stop cleanly). Later puts fail with queue_closed once their
//   client knows of the close: at once for the client that closed, at their
//   next credit request for others (so a client holding credits from before
//   the close may still put that many items; each is delivered).
// - maxsize bounds the queue (required: no unbounded queues).
// - qsize() and status() are approximate while others use the queue, as in
//   Python: items in flight to the queue, and items fetched by clients but not
//   yet handed out, are not in size.
// - A get whose item is of another type fails with type_mismatch and leaves the
//   item first in line, for a get of the right type.
// - Items a client fetched and never handed out go back to the front of the
//   queue when the client is destroyed.
// - When a process that fetched items dies, every item it fetched and did not
//   settle goes back to the front of the queue, in order: on a joinable queue
//   the unacknowledged ones; on a plain queue those of its last batch (those it
//   handed out just before it died may so be delivered twice; none is lost).
//   They may exceed maxsize briefly: a redelivery is never refused.
// Joinable queues:
// - every item handed out carries a ticket; task_done() acknowledges the
//   client's oldest unacknowledged item (or a given ticket); after that client
//   is gone, its process's oldest. Calling it more often than items were taken
//   fails with invalid_argument, as Python's ValueError, at once: the client
//   knows which tickets it handed out, and asks the queue about any other.
// - join() waits until every item put has been acknowledged.
// - Delivery is at least once: when a consumer dies before task_done(), the
//   items it held go back to the front of the queue for the next get(), so
//   join() never hangs on a dead consumer. A consumer must therefore tolerate
//   seeing an item again (make the work idempotent, or deduplicate by content).
//
// WARNING: a queue_client is used by one thread at a time (it holds credits and
// a batch). Give each thread its own; they share the queue.

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/client.hpp>
#include <actorproc/queue.capnp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

namespace actorproc {

struct queue_options {
  std::string name = {};
  std::size_t maxsize = 1000;
  bool joinable = false;
};

/// How much a queue_client asks for at once.
struct queue_client_options {
  /// Most items one get() fetches (1: every get asks the queue).
  uint32_t prefetch = 1024;
  /// Most credits one put() reserves (1: every put asks the queue).
  uint32_t credits = 1024;
  /// The client fetches (reserves) what it used within about this long at its
  /// recent pace, starting from one. Zero: always the most.
  std::chrono::microseconds horizon{2000};
};

/// Registers the queue actor type (as "actorproc.queue").
void add_queue(entry_table& actors);

/// Starts a queue actor on `n`.
expected<actor_handle> start_queue(node& n, queue_options options = {});

/// An item taken from a queue: reads as T, and carries its ticket.
template <class T>
class queue_item {
 public:
  queue_item(std::shared_ptr<const message<schema::QueueBatch>> batch, schema::QueueEntry::Reader entry)
      : batch_(std::move(batch)), entry_(entry) {}
  typename T::Reader value() const { return entry_.getItem().template getAs<T>(); }
  uint64_t ticket() const { return entry_.getTicket(); }

 private:
  std::shared_ptr<const message<schema::QueueBatch>> batch_;  // keeps entry_'s bytes
  schema::QueueEntry::Reader entry_;
};

struct queue_status {
  std::size_t size = 0;
  std::size_t maxsize = 0;
  bool closed = false;
  std::size_t unfinished = 0;
  uint64_t redelivered = 0;
  std::size_t credits = 0;  // granted to clients, not yet spent
  std::size_t fetched = 0;  // in clients' batches, not yet settled
};

namespace detail {

/// How many items (or credits) a client asks for next: what it used within
/// `horizon` at the pace it used its last block, at most twice that block and
/// at most `limit`; one at first, so a slow client holds one at a time.
class batch_sizer {
 public:
  using clock = std::chrono::steady_clock;
  batch_sizer(uint32_t limit, std::chrono::microseconds horizon) : limit_(std::max<uint32_t>(1, limit)), horizon_(horizon) {}
  /// The size of the next block, asked at `now`, the last one (`used` items) having been asked at the previous call.
  uint32_t next(clock::time_point now, uint32_t used) {
    if (horizon_.count() == 0) return limit_;
    uint32_t size = 1;
    if (used > 0 && last_ != clock::time_point{}) {
      auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
      double paced = elapsed <= 0 ? double(limit_)
                                  : double(used) * double(std::chrono::nanoseconds(horizon_).count()) / double(elapsed);
      size = static_cast<uint32_t>(std::clamp(paced, 1.0, std::min(2.0 * used, double(limit_))));
    }
    last_ = now;
    return size;
  }

 private:
  uint32_t limit_;
  std::chrono::microseconds horizon_;
  clock::time_point last_{};
};

/// A number for each queue client of this process (with the sender's id, the
/// queue's key for the client).
inline uint64_t next_queue_client() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

/// A one-way message from a Caller.
template <class M, class Fill>
expected<void> post(const actor_handle& to, Fill&& fill, std::chrono::milliseconds timeout) {
  return to.send<M>(std::forward<Fill>(fill), timeout);
}
template <class M, class Fill>
expected<void> post(const from_actor& caller, Fill&& fill, std::chrono::milliseconds timeout) {
  return caller.ctx.send<M>(caller.to, std::forward<Fill>(fill), timeout);
}

/// The last one-way M to the queue if it has not left yet (context::unsent_last);
/// the node's sends are never amended.
template <class M>
std::optional<typename M::Builder> unsent_last(const actor_handle&) {
  return std::nullopt;
}
template <class M>
std::optional<typename M::Builder> unsent_last(const from_actor& caller) {
  return caller.ctx.unsent_last<M>(caller.to);
}

}  // namespace detail

/// The queue's operations for a Caller (actor_handle in the node, from_actor in
/// a worker). Move-only: it holds credits and a fetched batch, which it gives
/// back when destroyed.
template <class Caller>
class queue_client {
 public:
  explicit queue_client(Caller caller, queue_client_options options = {})
      : caller_(std::move(caller)),
        credit_sizer_(options.credits, options.horizon),
        fetch_sizer_(options.prefetch, options.horizon) {}
  queue_client(queue_client&& other) noexcept
      : caller_(std::move(other.caller_)),
        id_(std::exchange(other.id_, 0)),
        credits_(std::exchange(other.credits_, 0)),
        reserved_(other.reserved_),
        closed_(other.closed_),
        credit_sizer_(other.credit_sizer_),
        fetch_sizer_(other.fetch_sizer_),
        batch_(std::move(other.batch_)),
        entries_(other.entries_),
        next_(std::exchange(other.next_, 0)),
        unsettled_(std::exchange(other.unsettled_, false)),
        tickets_(std::move(other.tickets_)) {}
  queue_client& operator=(queue_client&&) = delete;
  queue_client(const queue_client&) = delete;
  queue_client& operator=(const queue_client&) = delete;
  ~queue_client() { release(); }

  template <class T, class Fill>
  expected<void> put(Fill&& fill, std::chrono::milliseconds timeout = default_timeout) {
    return put_item<T>(fill, true, timeout);
  }
  template <class T, class Fill>
  expected<void> put_nowait(Fill&& fill) {
    return put_item<T>(fill, false, std::chrono::milliseconds(0));
  }
  template <class T>
  expected<queue_item<T>> get(std::chrono::milliseconds timeout = default_timeout) {
    return get_item<T>(true, timeout);
  }
  template <class T>
  expected<queue_item<T>> get_nowait() {
    return get_item<T>(false, std::chrono::milliseconds(0));
  }
  /// Acknowledges this client's oldest unacknowledged item (or `ticket`).
  expected<void> task_done(uint64_t ticket = 0) {
    auto mine = ticket == 0 ? tickets_.begin() : std::find(tickets_.begin(), tickets_.end(), ticket);
    if (mine == tickets_.end()) {  // not handed out here: the queue decides, and says why not
      return detail::ok(caller_.template request<schema::QueueTaskDone, schema::QueueOk>(
          [&](schema::QueueTaskDone::Builder b) {
            b.setClient(id());
            b.setTicket(ticket);
          },
          default_timeout));
    }
    uint64_t acknowledged = *mine;
    // The next ticket after the run the last notice acknowledges, that notice
    // not yet sent: one more in its count, no message of its own.
    if (auto last = detail::unsent_last<schema::QueueTaskDone>(caller_);
        last && last->getClient() == id_ && last->getCount() < UINT32_MAX &&
        last->getTicket() + last->getCount() == acknowledged) {
      last->setCount(last->getCount() + 1);
      forget(mine);
      return {};
    }
    auto sent = detail::post<schema::QueueTaskDone>(
        caller_,
        [&](schema::QueueTaskDone::Builder b) {
          b.setClient(id());
          b.setTicket(acknowledged);
        },
        default_timeout);
    if (sent) forget(mine);
    return sent;
  }
  expected<void> join(std::chrono::milliseconds timeout = default_timeout) {
    return detail::ok(caller_.template request<schema::QueueJoin, schema::QueueOk>(no_fields{}, timeout));
  }
  expected<void> close() {
    auto closed = detail::ok(
        caller_.template request<schema::QueueClose, schema::QueueOk>(no_fields{}, default_timeout));
    if (closed) closed_ = true;
    return closed;
  }
  expected<queue_status> status() {
    auto s = caller_.template request<schema::QueueStat, schema::QueueStatus>(no_fields{}, default_timeout);
    if (!s) return s.error();
    return queue_status{s->getSize(),       s->getMaxsize(), s->getClosed(), s->getUnfinished(),
                        s->getRedelivered(), s->getCredits(), s->getFetched()};
  }
  expected<std::size_t> qsize() {
    auto s = status();
    if (!s) return s.error();
    return s->size;
  }

 private:
  uint64_t id() {
    if (id_ == 0) id_ = detail::next_queue_client();
    return id_;
  }

  template <class T, class Fill>
  expected<void> put_item(Fill& fill, bool block, std::chrono::milliseconds timeout) {
    if (closed_) return error(errc::queue_closed, "the queue is closed");
    if (credits_ == 0) {
      auto granted = detail::timed_request<schema::QueueReserve, schema::QueueCredit>(
          caller_, timeout, [&](schema::QueueReserve::Builder b) {
            b.setClient(id());
            b.setWant(credit_sizer_.next(detail::batch_sizer::clock::now(), reserved_));
            b.setBlock(block);
          });
      if (!granted) {
        if (granted.error().code == errc::queue_closed) closed_ = true;
        return granted.error();
      }
      credits_ = reserved_ = granted->getGranted();
    }
    auto sent = detail::post<schema::QueuePut>(
        caller_,
        [&](schema::QueuePut::Builder b) {
          b.setClient(id());
          b.setItemType(capnp::typeId<T>());
          fill(b.getItem().template initAs<T>());
        },
        block ? std::max(timeout, std::chrono::milliseconds(1)) : default_timeout);
    if (sent) --credits_;
    return sent;
  }

  template <class T>
  expected<queue_item<T>> get_item(bool block, std::chrono::milliseconds timeout) {
    if (next_ == entries_.size()) {
      uint32_t used = entries_.size();
      auto m = detail::timed_request<schema::QueueGet, schema::QueueBatch>(
          caller_, timeout, [&](schema::QueueGet::Builder b) {
            b.setClient(id());
            b.setMax(fetch_sizer_.next(detail::batch_sizer::clock::now(), used));
            b.setBlock(block);
          });
      // Whatever the answer, the queue now knows the earlier batch was handed out.
      unsettled_ = false;
      batch_.reset();
      entries_ = {};
      next_ = 0;
      if (!m) return m.error();
      batch_ = std::make_shared<const message<schema::QueueBatch>>(std::move(*m));
      // Read once: each read of a list counts all its elements against the
      // frame's traversal limit, so reading it per item would be quadratic.
      entries_ = batch_->getItems();
      if (entries_.size() == 0) return error(errc::protocol_error, "the queue answered a get with no item");
      unsettled_ = true;
    }
    auto entry = entries_[next_];
    if (entry.getItemType() != capnp::typeId<T>()) {
      return error(errc::type_mismatch, "the queue's item is of another type");
    }
    if (entry.getTicket() != 0) tickets_.push_back(entry.getTicket());
    ++next_;
    return queue_item<T>(batch_, entry);
  }

  // An acknowledged ticket: usually the oldest.
  void forget(std::deque<uint64_t>::iterator ticket) {
    if (ticket == tickets_.begin()) {
      tickets_.pop_front();
    } else {
      tickets_.erase(ticket);
    }
  }

  // Gives back what this client holds: unused credits, and the items of its
  // batch it never handed out (the queue also settles the others).
  void release() noexcept {
    uint32_t unused = entries_.size() - next_;
    if (id_ == 0 || (credits_ == 0 && !unsettled_)) return;
    try {
      (void)detail::post<schema::QueueRelease>(
          caller_,
          [&](schema::QueueRelease::Builder b) {
            b.setClient(id_);
            b.setCredits(credits_);
            b.setUnused(unused);
          },
          default_timeout);
    } catch (...) {
      // Only a send from inside another send's fill throws; the queue then
      // takes the credits and items back when this process exits.
    }
  }

  Caller caller_;
  uint64_t id_ = 0;        // 0: not yet known to the queue
  uint32_t credits_ = 0;   // puts this client may still make without asking
  uint32_t reserved_ = 0;  // the size of its last block of credits
  bool closed_ = false;
  detail::batch_sizer credit_sizer_, fetch_sizer_;
  std::shared_ptr<const message<schema::QueueBatch>> batch_;
  capnp::List<schema::QueueEntry>::Reader entries_;  // batch_'s items
  unsigned next_ = 0;       // the next of entries_ to hand out
  bool unsettled_ = false;  // batch_ came since the queue last heard from this client
  std::deque<uint64_t> tickets_;  // handed out, not yet acknowledged
};

/// The queue `q` as seen from inside an actor.
inline queue_client<from_actor> queue_in(context& ctx, actor_ref q, queue_client_options options = {}) {
  return queue_client<from_actor>(direct_caller(ctx, q), options);
}

}  // namespace actorproc
