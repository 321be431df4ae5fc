#pragma once
// The pool's dispatcher: one CAF actor in the node that owns all of a pool's
// state (the queue of chunks, the worker slots, the counters) and alone
// spawns workers, sends chunks, and resolves futures. Not installed.
//
// Everything reaches it as a message (pool_protocol.hpp): submissions and
// calls from user threads (pool_core), a worker's answer to its chunk (from
// actor_handle::request_async's callback) and a worker's exit (from
// actor_handle::monitor's callback). Those callbacks only send; they never
// touch the dispatcher's state. It is spawned detached, on a thread of its
// own, because it blocks where the old dispatcher thread did: node::spawn
// waits until a replacement worker is ready, and done-callbacks (user code)
// run on it and may take their time.
//
// The one thing it shares without a message is pool_shared::admitted, the
// count that bounds the queue: a submit that finds room costs one send, not a
// round trip; only a submit that finds the queue full waits, for the
// dispatcher's answer.

#include <actorproc/node/node.hpp>
#include <actorproc/patterns/pool.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace caf {
class actor;
}

namespace actorproc::detail {

/// A worker being stopped (retired, or at join) gets this long to finish.
inline constexpr std::chrono::milliseconds pool_stop_grace{2000};

struct pool_task {
  task_input input;
  std::shared_ptr<future_state<pool_value>> result;
};

/// Tasks run by one worker in one message, and run again together if it dies.
struct pool_chunk {
  std::vector<pool_task> tasks;
  unsigned attempts = 0;  // runs that ended with the worker's death
  bool taken = false;     // the dispatcher has seen it: its tasks are the dispatcher's to resolve
  pool_chunk() = default;
  pool_chunk(const pool_chunk&) = delete;
  pool_chunk& operator=(const pool_chunk&) = delete;
  /// Unless taken, fails every task with pool_closed: a submission that a
  /// dispatcher which has quit drops unread resolves instead of hanging.
  ~pool_chunk();
};

/// The calls a done-callback may make on the dispatcher's own thread: a
/// request to itself would wait for an answer only it can give, so they run in
/// place, on the dispatcher's state, between two callbacks.
class pool_calls_here {
 public:
  virtual bool cancel(const std::shared_ptr<pool_chunk>& c, const void* which) = 0;
  virtual void close(bool cancel_queued) = 0;
  virtual void terminate() = 0;
  virtual pool_stats stats() const = 0;
  virtual std::vector<actor_handle> workers() const = 0;

 protected:
  ~pool_calls_here() = default;
};

/// What the client side (pool_core) and the dispatcher share outside messages.
struct pool_shared {
  explicit pool_shared(pool_options o) : options(std::move(o)) {}
  const pool_options options;  // with processes and window filled in
  /// Tasks submitted and not yet started (queued, or on their way to the
  /// dispatcher): a submitter adds its chunk while this is below max_queued,
  /// the dispatcher subtracts what leaves the queue.
  std::atomic<std::size_t> admitted{0};
  /// The dispatcher's thread, so that a done-callback's submit neither waits
  /// for room only the dispatcher can make nor asks it for an answer.
  std::atomic<std::thread::id> thread{};
  /// Set by the dispatcher; used only on its thread (on_dispatcher()).
  pool_calls_here* here = nullptr;

  bool on_dispatcher() const { return thread.load() == std::this_thread::get_id(); }
};

/// Spawns the dispatcher over workers already started.
caf::actor spawn_pool_dispatcher(node& n, std::shared_ptr<pool_shared> shared, std::vector<actor_handle> workers);

}  // namespace actorproc::detail
