#pragma once
// The children of one supervisor, in start order, and how to find them.
// Touched by the supervisor's actor only. Internal.

#include "name_entry.hpp"

#include <actorproc/supervise/supervisor.hpp>

#include <caf/actor_addr.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace actorproc::detail {

struct supervisor_core;

struct child_slot {
  child_spec spec;
  uint64_t key = 0;  // stable across restarts, unlike its position
  child_state state = child_state::stopped;
  std::optional<actor_handle> handle;       // a running worker
  std::shared_ptr<supervisor_core> nested;  // a running supervisor
  caf::actor_addr watched;                  // whose down message means this child exited
  uint64_t incarnation = 0;
  uint64_t restarts = 0;
  std::chrono::steady_clock::time_point started_at;
  std::chrono::milliseconds backoff{0};  // the last un-jittered restart delay (backoff.hpp)
  std::shared_ptr<name_entry> name;
  std::optional<exit_reason> died_early;  // exited before it could be monitored
};

class child_table {
 public:
  std::vector<child_slot>& slots() { return slots_; }
  const std::vector<child_slot>& slots() const { return slots_; }

  child_slot* find(std::string_view id);
  child_slot* find_key(uint64_t key);
  /// The position of `key`, or size() if it is not here.
  std::size_t index_of(uint64_t key) const;
  child_slot& add(child_spec spec, std::shared_ptr<name_entry> name);
  void erase(uint64_t key);

  /// simple_one_for_one: the n-th child started from the spec is "<spec id>#n".
  static std::string dynamic_id(std::string_view spec_id, uint64_t n);
  /// Whether `id` names a dynamic child started so far (1..started).
  static bool is_dynamic_id(std::string_view id, std::string_view spec_id, uint64_t started);

  static child_info info_of(const child_slot& slot);

 private:
  std::vector<child_slot> slots_;
  uint64_t next_key_ = 1;
};

}  // namespace actorproc::detail
