#pragma once
// What a supervisor is told: OTP's child and supervisor specifications, plus
// what OTP lacks (restart backoff, heartbeats, a policy for messages sent while
// a child restarts).
//
// A spec is checked before anything starts (check_spec, check_child_spec), by
// OTP's rules: intensity >= 0, period > 0, shutdown >= 0, unique child ids,
// and exactly one child spec for simple_one_for_one. One rule is stricter than
// OTP: simple_one_for_one takes auto_shutdown never only (OTP accepts the other
// values, but its dynamic children could then shut a pool down by exiting).
// A spec that breaks a rule is refused with invalid_argument, naming the field
// and the rule.

#include <actorproc/base/expected.hpp>
#include <actorproc/node/spawn_options.hpp>
#include <actorproc/process/launch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actorproc {

enum class restart_strategy : uint8_t {
  /// Only the failed child is restarted.
  one_for_one,
  /// Every child is stopped (in reverse start order), then all are restarted in order.
  one_for_all,
  /// The failed child and the children started after it are stopped and restarted.
  rest_for_one,
  /// Dynamic children, all from the supervisor's single child spec, started by
  /// start_child(args); restarted one for one, shut down in parallel.
  simple_one_for_one,
};

enum class restart_type : uint8_t {
  /// Always restarted.
  permanent,
  /// Restarted only after an abnormal exit (not after normal or shutdown).
  transient,
  /// Never restarted, not even when a sibling's failure stops it; its spec is dropped.
  temporary,
};

/// How a child is stopped by its supervisor.
struct shutdown_policy {
  enum class kind : uint8_t {
    /// Over at most `grace`, as OTP's shutdown timeout: a stop message at
    /// once, SIGTERM at grace/2, SIGKILL at grace (node/stop_ladder.hpp).
    /// `grace` must be >= 0; 0 kills at once if the stop is not enough.
    graceful,
    /// SIGKILL at once.
    brutal_kill,
    /// Wait as long as the child needs (the default for supervisor children,
    /// which stop their own children first).
    infinity,
  };
  kind how = kind::graceful;
  std::chrono::milliseconds grace{5000};

  static shutdown_policy after(std::chrono::milliseconds grace) { return {kind::graceful, grace}; }
  static shutdown_policy brutal_kill() { return {kind::brutal_kill, {}}; }
  static shutdown_policy infinity() { return {kind::infinity, {}}; }
};

/// OTP 24's automatic shutdown on significant children.
enum class auto_shutdown : uint8_t { never, any_significant, all_significant };

/// Restart delay: exponential between `min` and `max` with +/- `jitter`, back to
/// `min` once a child has run for `reset_after`. min = 0 restarts at once.
/// It composes with intensity: every restart still counts.
struct backoff_policy {
  std::chrono::milliseconds min{0};
  std::chrono::milliseconds max{0};
  double jitter = 0.25;
  std::chrono::milliseconds reset_after{30000};
};

/// What happens to messages sent through a named handle while its child restarts.
enum class restarting_policy : uint8_t {
  /// Fail at once with actor_restarting.
  fail,
  /// Keep them (bounded by child_spec::restart_buffer) for the next incarnation.
  buffer,
};

struct supervisor_spec;

struct child_spec {
  /// Unique among the supervisor's children (checked at start and start_child).
  std::string id;
  /// The registered actor type of a worker child. Empty for a supervisor child.
  std::string actor_type = {};
  std::vector<std::string> args = {};
  start_method method = start_method::zygote;
  std::string program = {};
  /// Set for a supervisor child (a nested tree).
  std::shared_ptr<const supervisor_spec> supervisor = {};
  restart_type restart = restart_type::permanent;
  /// Default: graceful with 5000 ms for workers, infinity for supervisors.
  std::optional<shutdown_policy> shutdown = {};
  /// With auto_shutdown, the exit of a significant child may end the supervisor.
  bool significant = false;
  heartbeat_options heartbeat = {};
  restarting_policy while_restarting = restarting_policy::fail;
  std::size_t restart_buffer = 1024;
};

struct supervisor_spec {
  std::string name = "supervisor";
  restart_strategy strategy = restart_strategy::one_for_one;
  /// At most `intensity` restarts within `period` (a sliding window); one
  /// failure counts once, even when it restarts several children. Beyond it the
  /// supervisor stops all its children and exits with reason shutdown.
  /// intensity >= 0 (0: the first failure ends the supervisor); period > 0.
  int intensity = 1;
  std::chrono::milliseconds period{5000};
  std::vector<child_spec> children = {};
  /// Must be never for simple_one_for_one.
  auto_shutdown shutdown_when = auto_shutdown::never;
  backoff_policy backoff = {};
};

/// Checks `spec` and the specs of its nested supervisors by the rules above;
/// invalid_argument names the supervisor, the field and the rule.
/// supervisor::start() calls it before starting anything.
expected<void> check_spec(const supervisor_spec& spec);
/// Checks one child spec (and its nested supervisor's spec, if any), as
/// start_child() does; `supervisor` is the name used in the message.
expected<void> check_child_spec(const child_spec& spec, const std::string& supervisor);

}  // namespace actorproc
