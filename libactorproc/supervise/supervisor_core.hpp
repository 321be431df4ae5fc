#pragma once
// One supervisor: the state its CAF actor owns, and the little it shares with
// the host threads that hold `supervisor` handles. Internal.
//
// The host's one model: everything that changes the tree runs in the
// supervisor's actor (supervisor_actor.cpp): children's exits (CAF down
// messages from their proxies or nested supervisors), timed restarts (delayed
// messages to itself), and the host API's calls, which are CAF requests
// (supervisor_messages.hpp) that block their caller, never the tree. The actor
// is detached (a thread of its own) because, as an OTP supervisor does, it
// blocks while a child starts or stops.
//
// What host threads read without asking the actor (its exit and its restart
// log, which outlive it) sits under `mutex`, which is never held while waiting.

#include "child_table.hpp"
#include <actorproc/supervise/restart_window.hpp>

#include <actorproc/node/node.hpp>
#include <actorproc/supervise/supervisor.hpp>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <deque>
#include <mutex>
#include <random>
#include <unordered_map>

namespace actorproc::detail {

struct supervisor_core : std::enable_shared_from_this<supervisor_core> {
  supervisor_core(node& n, supervisor_spec s, std::string p)
      : owner(n),
        spec(std::move(s)),
        path(std::move(p)),
        window(spec.intensity, spec.period),
        random(std::random_device{}()) {}

  /// Checks the spec, spawns the actor and starts the children in order.
  static expected<std::shared_ptr<supervisor_core>> launch(node& n, supervisor_spec spec, std::string path);

  node& owner;
  const supervisor_spec spec;
  const std::string path;

  // ---- shared with host threads, under `mutex`
  /// The actor while it runs; null once it exited. The core holds the strong
  /// reference that keeps it alive (CAF collects unreferenced actors) and drops
  /// it at the exit, or the actor system would wait forever for its thread.
  caf::actor actor() const;
  std::optional<exit_reason> exit_reason_now() const;
  std::vector<restart_event> restart_log() const;

  // ---- the actor's own (supervisor_actor.cpp)
  caf::event_based_actor* self = nullptr;
  caf::actor registry;  // the name registry of its children (name_entry.hpp)
  child_table children;
  uint64_t dynamic_children = 0;
  restart_window window;
  std::unordered_map<uint64_t, std::vector<uint64_t>> scheduled;  // restart batches waiting for their delay
  uint64_t next_batch = 1;
  std::mt19937_64 random;
  bool quitting = false;

  expected<void> start_all();
  expected<child_info> add_and_start(child_spec s);
  expected<void> start_slot(child_slot& slot);
  void begin_stop(child_slot& slot);
  void finish_stop(child_slot& slot);
  void stop_slot(child_slot& slot);
  void stop_range(std::size_t from);
  void shut_down(exit_reason reason);
  void on_down(const caf::actor_addr& source, const exit_reason& reason);
  void child_exited(uint64_t key, const exit_reason& reason);
  void restart_by_strategy(uint64_t key, std::chrono::milliseconds delay);
  void schedule(std::vector<uint64_t> batch, std::chrono::milliseconds delay);
  void run_batch(uint64_t id);
  void give_up(const child_slot& slot, const exit_reason& reason);
  void check_auto_shutdown();
  std::chrono::milliseconds next_delay(child_slot& slot);
  void record(const child_slot& slot, const exit_reason& reason, restart_event::action what,
              std::chrono::milliseconds delay = {});
  std::shared_ptr<name_entry> make_name(const child_spec& s) const;
  std::vector<actor_snapshot> snapshot() const;

  // Called once, from the actor's exit.
  void exited(const exit_reason& reason);
  void adopt(caf::actor spawned);

 private:
  mutable std::mutex mutex_;
  caf::actor actor_;
  std::optional<exit_reason> exit_;
  std::deque<restart_event> log_;
};

/// Rows of a tree snapshot for one child (introspection.cpp).
actor_snapshot snapshot_row(const std::string& supervisor_path, const child_slot& slot);

}  // namespace actorproc::detail
