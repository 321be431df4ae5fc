#pragma once
// The queue's actor: the server side of patterns/queue.hpp, which documents
// its semantics. Private to the patterns layer (never installed): users
// register it with add_queue() and reach it through queue_client.
//
// Its bookkeeping, per client (a sender and the client's number):
// - credits granted and not yet spent; their sum with the queued items never
//   exceeds maxsize (queue_rules.hpp);
// - `fetched_`: every item handed to a client and not yet settled, by
//   sequence number (the ticket, on a joinable queue), kept per batch
//   (queue_fetched.hpp). A plain queue settles a
//   client's batch when the client asks again or lets go; a joinable one when
//   the item is acknowledged. What a dead process had not settled goes back to
//   the front, in order.
// Items are stored compactly (flat, inline when small, else one allocation
// each; read without checks: each is a copy the queue made itself from a
// validated message).

#include <actorproc/patterns/queue.hpp>

#include "waiters.hpp"

#include <actorproc/patterns/queue_fetched.hpp>

#include <kj/array.h>

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

namespace actorproc {

/// One item, copied out of the message that brought it. A small one (a few
/// ints) is kept inline: no allocation per item.
class stored_item {
 public:
  stored_item(uint64_t type, capnp::AnyPointer::Reader item);
  uint64_t type() const { return type_; }
  capnp::AnyPointer::Reader read() const;
  std::size_t words() const { return size_; }

 private:
  static constexpr std::size_t inline_words = 4;
  capnp::word* data() { return size_ <= inline_words ? small_ : large_.begin(); }
  const capnp::word* data() const { return size_ <= inline_words ? small_ : large_.begin(); }

  uint64_t type_;
  std::size_t size_;  // words, with the root pointer
  capnp::word small_[inline_words];
  kj::Array<capnp::word> large_;
};

/// The queue actor, registered by add_queue() and started by start_queue().
class queue_actor {
 public:
  using handles =
      actorproc::handles<schema::QueueReserve, schema::QueuePut, schema::QueueGet, schema::QueueTaskDone,
                         schema::QueueRelease, schema::QueueJoin, schema::QueueClose, schema::QueueStat>;
  explicit queue_actor(context& ctx);

  void on(schema::QueueReserve::Reader m, context& ctx);
  void on(schema::QueuePut::Reader m, context& ctx);
  void on(schema::QueueGet::Reader m, context& ctx);
  void on(schema::QueueTaskDone::Reader m, context& ctx);
  void on(schema::QueueRelease::Reader m, context& ctx);
  void on(schema::QueueJoin::Reader m, context& ctx);
  void on(schema::QueueClose::Reader m, context& ctx);
  void on(schema::QueueStat::Reader m, context& ctx);
  void on_down(actor_ref who, const exit_reason& why, context& ctx);

 private:
  using client_key = std::pair<uint64_t, uint64_t>;  // sender, client number
  struct client {
    std::size_t credits = 0;
    uint64_t batch = 0;        // the first sequence number of its last batch; 0: none
    std::size_t batch_size = 0;
  };
  struct waiting_reserve {
    uint64_t timer = 0;
    deferred_reply reply;
    client_key key;
    uint32_t want = 0;
  };
  struct waiting_get {
    uint64_t timer = 0;
    deferred_reply reply;
    client_key key;
    uint32_t max = 0;
  };

  client& client_of(uint64_t number, context& ctx);
  void give(const client_key& key, const deferred_reply& to, std::size_t count, context& ctx);
  void settle(client& c);
  void give_back(const std::vector<uint64_t>& seqs);
  void acknowledged(std::size_t count, context& ctx);
  void serve_reserves(context& ctx);
  void serve_getters(context& ctx);
  void serve_later(context& ctx);
  void forget_if_idle(client_key key);
  std::size_t room() const;
  std::size_t other_consumers(const client_key& key) const;

  std::size_t maxsize_;
  bool joinable_;
  bool closed_ = false;
  std::deque<stored_item> items_;
  std::map<client_key, client> clients_;
  detail::fetched_items<client_key, stored_item> fetched_;
  std::deque<waiting_reserve> reserves_;
  std::deque<waiting_get> getters_;
  std::vector<deferred_reply> joiners_;
  detail::watchers watched_;
  std::size_t credits_ = 0;  // the sum of the clients' credits
  std::size_t unfinished_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t redelivered_ = 0;
  bool serve_pending_ = false;  // a timer will serve waiting getters after the current batch of messages
};

}  // namespace actorproc
