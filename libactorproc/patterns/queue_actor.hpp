#pragma once
// The queue's actor: the server side of patterns/queue.hpp, which documents
// its semantics. Private to the patterns layer (never installed): users
// register it with add_queue() and reach it through queue_client.

#include <actorproc/patterns/queue.hpp>

#include <capnp/message.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <vector>

namespace actorproc {

/// The queue actor, registered by add_queue() and started by start_queue().
class queue_actor {
 public:
  using handles = actorproc::handles<schema::QueuePut, schema::QueueGet, schema::QueueTaskDone, schema::QueueJoin,
                                     schema::QueueClose, schema::QueueStat>;
  explicit queue_actor(context& ctx);

  void on(schema::QueuePut::Reader m, context& ctx);
  void on(schema::QueueGet::Reader m, context& ctx);
  void on(schema::QueueTaskDone::Reader m, context& ctx);
  void on(schema::QueueJoin::Reader m, context& ctx);
  void on(schema::QueueClose::Reader m, context& ctx);
  void on(schema::QueueStat::Reader m, context& ctx);
  void on_down(actor_ref who, const exit_reason& why, context& ctx);

 private:
  using item_ptr = std::unique_ptr<capnp::MallocMessageBuilder>;  // root: QueueItem
  struct waiting_put {
    uint64_t timer;
    deferred_reply reply;
    item_ptr item;
  };
  struct waiting_get {
    uint64_t timer;
    deferred_reply reply;
  };
  struct taken {
    uint64_t ticket;
    uint64_t consumer;
    item_ptr item;
  };

  void give(item_ptr item, const deferred_reply& to, context& ctx);
  void admit(item_ptr item, context& ctx);
  void serve(context& ctx);

  std::size_t maxsize_;
  bool joinable_;
  bool closed_ = false;
  std::deque<item_ptr> items_;
  std::deque<waiting_put> putters_;
  std::deque<waiting_get> getters_;
  std::deque<taken> in_progress_;
  std::vector<deferred_reply> joiners_;
  std::set<uint64_t> watched_;
  std::size_t unfinished_ = 0;
  uint64_t next_ticket_ = 1;
  uint64_t redelivered_ = 0;
};

}  // namespace actorproc
