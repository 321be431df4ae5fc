#pragma once
// The dispatcher actor's state (pool_dispatcher.hpp): the queue of chunks,
// the worker slots, the waiting submitters and joiners, and the counters.
// Touched only by the dispatcher's handlers, on its thread, and by done-
// callbacks running there (through pool_calls_here). Not installed.
//
// Each handler changes the state, then pump() brings the pool back to rest:
// waiting submitters admitted as room appears, idle workers given chunks,
// missing workers replaced, settled futures resolved (their done-callbacks
// run here), and joiners answered once nothing is unresolved.

#include "pool_protocol.hpp"

#include <caf/actor_control_block.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace actorproc::detail {

enum class pool_state { running, closed, terminated, broken };

struct worker_slot {
  actor_handle handle;
  std::shared_ptr<pool_chunk> running;
  std::size_t tasks_done = 0;
};

/// A submitter that found the queue full, waiting for room up to submit_timeout.
struct room_waiter {
  uint64_t id;
  std::shared_ptr<pool_chunk> chunk;
  caf::typed_response_promise<bool> promise;
};

struct dispatcher_state : pool_calls_here {
  static inline const char* name = "actorproc.pool_dispatcher";  // the actor's name in CAF

  using resolution = std::pair<std::shared_ptr<future_state<pool_value>>, expected<pool_value>>;
  caf::event_based_actor* self = nullptr;
  // For the callbacks of the reactor thread. Weak: a link may keep its callback
  // after the pool is gone, and must not keep the actor (nor need the system).
  caf::weak_actor_ptr me;
  node* owner = nullptr;
  std::shared_ptr<pool_shared> shared;
  pool_state state = pool_state::running;
  error broken_error;
  bool leaving = false;  // join answered: exits now are the joiner's stops, not losses
  std::deque<std::shared_ptr<pool_chunk>> queued;
  std::size_t queued_tasks = 0;
  std::size_t unresolved = 0;  // tasks taken and not yet resolved (join waits for 0)
  std::vector<worker_slot> slots;
  std::vector<actor_handle> retired;
  std::deque<room_waiter> waiters;
  uint64_t next_waiter = 0;
  std::vector<caf::typed_response_promise<pool_leave>> joiners;
  std::vector<resolution> done;  // settled, to be resolved by pump()
  unsigned failed_starts = 0;
  std::size_t workers_named = 0;
  pool_stats counters;
  ~dispatcher_state();
  const pool_options& options() const { return shared->options; }

  // ---- the queue (queued_tasks and pool_shared::admitted follow it)

  void enqueue(std::shared_ptr<pool_chunk> c, bool counted, bool first);
  std::shared_ptr<pool_chunk> dequeue();
  void settle_queue(const error& why);

  // ---- resolution

  /// Every task of `c` resolves with `outcome`, in pump().
  void settle(pool_chunk& c, const expected<pool_value>& outcome);

  /// Futures resolve here, with their done-callbacks. A callback that throws
  /// is reported and the pool carries on: one task's callback must not take
  /// down the dispatcher of every other.
  void resolve(const std::shared_ptr<future_state<pool_value>>& state, expected<pool_value> outcome);

  /// A submission that is not taken: resolved at once, counted nowhere.
  void refuse(pool_chunk& c, const error& why);
  std::optional<error> refusal() const;

  // ---- submissions

  void arrive(std::shared_ptr<pool_chunk> c, bool counted);
  bool has_room() const { return shared->admitted.load() < options().max_queued; }

  void wait_for_room(std::shared_ptr<pool_chunk> c, caf::typed_response_promise<bool> promise);
  void admit_waiters();
  void expire(uint64_t id);
  bool cancel(const std::shared_ptr<pool_chunk>& c, const void* which) override;

  // ---- workers

  expected<void> spawn_worker();
  void adopt(const actor_handle& h);

  /// Workers to start: a full complement while the pool takes or has work.
  std::size_t missing() const;
  void replace_worker();
  void send(const actor_handle& h, const std::shared_ptr<pool_chunk>& c);
  void assign();
  std::vector<worker_slot>::iterator slot_of(uint64_t worker);
  void lose(std::vector<worker_slot>::iterator slot);

  // ---- answers and exits

  void on_exit(const pool_exit& e);
  void on_answer(pool_answer& a);

  /// The chunk did not run to an answer: run it again, or fail it for good.
  /// Only an error that says the worker is gone or did not take the chunk is
  /// worth a re-run on another worker; a usage bug, a failure or a limit would
  /// come back the same.
  void fail_chunk(const std::shared_ptr<pool_chunk>& c, const error& why);

  // ---- calls

  void close(bool cancel_queued) override;
  void terminate() override;
  bool idle() const { return state != pool_state::running && unresolved == 0 && done.empty(); }

  pool_leave leave();
  pool_stats stats() const override;
  std::vector<actor_handle> workers() const override;

  // ---- back to rest

  void pump();
};

}  // namespace actorproc::detail
