#pragma once
// pool_core: the client side of one pool, shared by the pool object and its
// result streams. It makes the futures of submitted tasks and reaches the
// dispatcher actor (pool_dispatcher.hpp) with messages: one-way for a submit
// that finds room, and CAF's blocking request/receive (through a
// caf::scoped_actor) for calls that wait for an answer (close, terminate,
// join, stats, cancel, and a submit that waits for room). Not installed.

#include "pool_dispatcher.hpp"

#include <actorproc/patterns/pool.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace actorproc::detail {

class pool_core : public std::enable_shared_from_this<pool_core> {
 public:
  /// Starts the workers, then the dispatcher; fails if a worker cannot start.
  static expected<std::shared_ptr<pool_core>> start(node& n, pool_options options);
  pool_core(node& n, std::shared_ptr<pool_shared> shared);
  /// Ends the dispatcher if join() has not.
  ~pool_core();
  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  std::vector<task_future> submit(std::vector<task_input> inputs);
  /// No more tasks; with `cancel_queued`, the queued ones fail with cancelled.
  void close(bool cancel_queued = false);
  void terminate();
  expected<void> join(std::chrono::milliseconds timeout);
  pool_stats stats() const;
  std::vector<actor_handle> workers() const;

  /// The node's shutdown hook: terminate and join unless joined, then end the dispatcher.
  void shut_down_with_node();

  std::size_t window() const { return shared_->options.window; }
  bool joined() const { return joined_.load(); }

 private:
  bool cancel(const std::shared_ptr<pool_chunk>& c, const void* which);
  /// request(dispatcher, args).receive(on_answer), within `patience`; false if
  /// no answer came (the dispatcher has quit, or is held that long by a done-callback).
  template <class OnAnswer, class... Args>
  bool call(std::chrono::milliseconds patience, OnAnswer on_answer, Args... args) const;
  /// Ends the dispatcher (it has answered every call it will) and drops its handle.
  void quit();

  node& node_;
  std::shared_ptr<pool_shared> shared_;
  // caf::actor stays out of this header's includes. Reset only by quit(), from
  // the node's shutdown hook or the destructor: using the pool meanwhile from
  // another thread is a bug of the program (the node is going away).
  std::unique_ptr<caf::actor> dispatcher_;
  std::atomic<bool> joined_{false};
};

}  // namespace actorproc::detail
