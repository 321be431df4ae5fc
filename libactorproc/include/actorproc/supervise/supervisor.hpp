#pragma once
// Supervision trees with OTP's semantics, on real processes.
//
//   supervisor_spec spec{.name = "root", .strategy = restart_strategy::one_for_one,
//                        .intensity = 3, .period = 10s,
//                        .children = {{.id = "db", .actor_type = "db"},
//                                     {.id = "web", .actor_type = "web", .restart = restart_type::transient}}};
//   auto root = supervisor::start(node, spec).value();   // children start in order, each once ready
//   auto db = root.child("db");                           // reaches whichever incarnation is current
//   db.send<Query>(...);
//
// A supervisor is a CAF actor in the node, on a thread of its own (it blocks
// while a child starts or stops, as an OTP supervisor does). It monitors each
// child's CAF proxy, so it hears of every exit with its exit reason, and applies
// the OTP rules exactly:
// - strategies one_for_one, one_for_all, rest_for_one, simple_one_for_one;
// - restart types permanent, transient, temporary;
// - intensity/period as a sliding window: exceeding it stops every child in
//   reverse start order and the supervisor exits with reason shutdown, which its
//   parent supervisor handles like any child exit;
// - ordered synchronous start, reverse-order stop, per-child shutdown policy;
// - a child that fails to start during a restart is retried, every attempt
//   counting toward intensity, so a child that can never start brings the
//   supervisor down instead of looping;
// - significant children and auto_shutdown.
// Beyond OTP: restart backoff, heartbeats (child_spec::heartbeat), named handles
// that survive restarts with a declared policy for messages sent meanwhile, and
// a restart log.
//
// Every call below is a CAF request to the supervisor's actor, answered once
// the tree has done it (start_child returns once the child is ready); a call
// on a supervisor that has exited fails with actor_down (which_children and
// snapshot then return empty lists).

#include <actorproc/base/expected.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/supervise/named_actor.hpp>
#include <actorproc/supervise/spec.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace actorproc {

namespace detail {
struct supervisor_core;
}

enum class child_state : uint8_t { starting, running, restarting, stopping, stopped };
const char* to_string(child_state state);

struct child_info {
  std::string id;
  bool is_supervisor = false;
  child_state state = child_state::stopped;
  actor_ref ref;   // the current incarnation (id 0 when not running or a supervisor)
  pid_t pid = -1;  // likewise
  restart_type restart = restart_type::permanent;
  uint64_t restarts = 0;
};

/// OTP's count_children. A simple_one_for_one supervisor has one spec, and
/// its supervisors and workers are the children it started from that spec.
struct child_counts {
  std::size_t specs = 0;        // child specs the supervisor knows
  std::size_t active = 0;       // children running
  std::size_t supervisors = 0;  // children that are supervisors
  std::size_t workers = 0;      // children that are workers
};

/// One entry of the restart log.
struct restart_event {
  enum class action : uint8_t {
    restarted,      // a new incarnation is running
    not_restarted,  // its restart type says no (transient after normal, temporary)
    start_failed,   // the restart attempt failed; it will be retried
    gave_up,        // intensity exceeded: the supervisor stopped everything and exited
  };
  std::chrono::system_clock::time_point when;
  std::string supervisor;
  std::string child;
  uint64_t incarnation = 0;  // of the child that exited
  exit_reason reason;
  action what = action::restarted;
  /// The backoff delay before the restart (restarted and start_failed).
  std::chrono::milliseconds delay{0};
};
std::string to_string(const restart_event& event);

/// One row of a tree snapshot.
struct actor_snapshot {
  std::string path;  // "root/pipeline/stage2"
  bool is_supervisor = false;
  child_state state = child_state::stopped;
  pid_t pid = -1;
  uint64_t restarts = 0;
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  std::size_t mailbox_bytes = 0;
  std::size_t rss_bytes = 0;
};
std::string to_string(const std::vector<actor_snapshot>& tree);

class supervisor {
 public:
  /// Starts the supervisor and its children, in order, each once ready. Fails
  /// with invalid_argument if the spec breaks a rule (check_spec(); nothing is
  /// started), or with launch_failed naming the child that could not start
  /// (the children already started are stopped again).
  static expected<supervisor> start(node& n, supervisor_spec spec);

  supervisor() = default;
  const std::string& name() const;

  /// A handle to child `id` that reaches whichever incarnation is current. A
  /// path reaches into nested supervisors: child("pipeline/sink"). (Through a
  /// nested supervisor the handle follows the child's restarts, but not the
  /// nested supervisor's own: after that, ask again.)
  named_actor child(std::string_view id) const;
  /// The current incarnation of the supervisor child `id` (a path works too).
  expected<supervisor> child_supervisor(std::string_view id) const;

  std::vector<child_info> which_children() const;
  child_counts count_children() const;
  /// Adds and starts a child (not for simple_one_for_one). A spec that breaks
  /// a rule of check_child_spec(), or whose id is taken, fails with invalid_argument.
  expected<child_info> start_child(child_spec spec) const;
  /// simple_one_for_one: starts a child of the single spec, with `args` appended.
  expected<child_info> start_child(std::vector<std::string> args) const;
  /// Stops a child; a temporary child's spec is dropped, others are kept stopped.
  /// As in OTP, terminating a stopped child, or a dynamic child that is already
  /// gone, succeeds.
  expected<void> terminate_child(std::string_view id) const;
  /// Starts a stopped child again.
  expected<child_info> restart_child(std::string_view id) const;
  /// Forgets a stopped child's spec.
  expected<void> delete_child(std::string_view id) const;

  std::vector<restart_event> restart_log() const;
  /// Every actor of the tree below this supervisor, depth first, in start order.
  std::vector<actor_snapshot> snapshot() const;

  /// Stops the children in reverse order, then the supervisor (reason shutdown).
  void stop() const;
  bool alive() const;
  /// Waits for the supervisor to exit and returns its reason.
  expected<exit_reason> join(std::chrono::milliseconds timeout) const;

 private:
  explicit supervisor(std::shared_ptr<detail::supervisor_core> core) : core_(std::move(core)) {}
  std::shared_ptr<detail::supervisor_core> core_;
};

}  // namespace actorproc
