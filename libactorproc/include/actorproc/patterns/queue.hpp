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
// The queue is an actor (its own process), so every operation is a request to
// it; items are any Cap'n Proto struct, copied into the queue.
//
// Semantics (Python's, where they are sound):
// - put() waits while the queue is full, up to its timeout, then fails with
//   queue_full; put_nowait() fails at once. get() waits while it is empty, up
//   to its timeout, then fails with queue_empty; get_nowait() at once. Waiting
//   putters and getters are served in arrival order.
// - close(): every later put() fails with queue_closed; get() drains what is
//   left, then fails with queue_closed (so consumers can stop cleanly).
// - maxsize bounds the queue (required: no unbounded queues).
// Joinable queues:
// - every get() hands out the item with a ticket; task_done() acknowledges the
//   consumer's oldest unacknowledged item (or a given ticket). Calling it more
//   often than items were taken fails with invalid_argument, as Python's
//   ValueError.
// - join() waits until every item put has been acknowledged.
// - Delivery is at least once: when a consumer dies before task_done(), the
//   items it held go back to the front of the queue for the next get() (they
//   may exceed maxsize briefly: a redelivery is never refused). So join() never
//   hangs on a dead consumer. A consumer must therefore tolerate seeing an item
//   again (make the work idempotent, or deduplicate by content).

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/client.hpp>
#include <actorproc/queue.capnp.h>

#include <cstdint>

namespace actorproc {

struct queue_options {
  std::string name = {};
  std::size_t maxsize = 1000;
  bool joinable = false;
};

/// Registers the queue actor type (as "actorproc.queue").
void add_queue(entry_table& actors);

/// Starts a queue actor on `n`.
expected<actor_handle> start_queue(node& n, queue_options options = {});

/// An item taken from a queue: reads as T, and carries its ticket.
template <class T>
class queue_item {
 public:
  explicit queue_item(message<schema::QueueItem> m) : message_(std::move(m)) {}
  typename T::Reader value() const { return message_.getItem().template getAs<T>(); }
  uint64_t ticket() const { return message_.getTicket(); }

 private:
  message<schema::QueueItem> message_;
};

struct queue_status {
  std::size_t size = 0;
  std::size_t maxsize = 0;
  bool closed = false;
  std::size_t unfinished = 0;
  uint64_t redelivered = 0;
};

/// The queue's operations for any Caller with request<M, R>(fill, timeout):
/// actor_handle in the node, from_actor in a worker.
template <class Caller>
class queue_client {
 public:
  explicit queue_client(Caller caller) : caller_(std::move(caller)) {}

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
  /// Acknowledges this caller's oldest unacknowledged item (or `ticket`).
  expected<void> task_done(uint64_t ticket = 0) {
    return detail::ok(caller_.template request<schema::QueueTaskDone, schema::QueueOk>(
        [&](schema::QueueTaskDone::Builder b) { b.setTicket(ticket); }, default_timeout));
  }
  expected<void> join(std::chrono::milliseconds timeout = default_timeout) {
    return detail::ok(caller_.template request<schema::QueueJoin, schema::QueueOk>(no_fields{}, timeout));
  }
  expected<void> close() {
    return detail::ok(caller_.template request<schema::QueueClose, schema::QueueOk>(no_fields{}, default_timeout));
  }
  expected<queue_status> status() {
    auto s = caller_.template request<schema::QueueStat, schema::QueueStatus>(no_fields{}, default_timeout);
    if (!s) return s.error();
    return queue_status{s->getSize(), s->getMaxsize(), s->getClosed(), s->getUnfinished(), s->getRedelivered()};
  }
  expected<std::size_t> qsize() {
    auto s = status();
    if (!s) return s.error();
    return s->size;
  }

 private:
  template <class T, class Fill>
  expected<void> put_item(Fill& fill, bool block, std::chrono::milliseconds timeout) {
    return detail::ok(
        detail::timed_request<schema::QueuePut, schema::QueueOk>(caller_, timeout, [&](schema::QueuePut::Builder b) {
          b.setItemType(capnp::typeId<T>());
          b.setBlock(block);
          fill(b.getItem().template initAs<T>());
        }));
  }
  template <class T>
  expected<queue_item<T>> get_item(bool block, std::chrono::milliseconds timeout) {
    auto m = detail::timed_request<schema::QueueGet, schema::QueueItem>(
        caller_, timeout, [&](schema::QueueGet::Builder b) { b.setBlock(block); });
    if (!m) return m.error();
    if (m->getItemType() != capnp::typeId<T>())
      return error(errc::type_mismatch, "the queue's item is of another type");
    return queue_item<T>(std::move(*m));
  }
  Caller caller_;
};

/// The queue `q` as seen from inside an actor.
inline queue_client<from_actor> queue_in(context& ctx, actor_ref q) {
  return queue_client<from_actor>(from_actor{ctx, q});
}

}  // namespace actorproc
