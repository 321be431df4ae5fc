#pragma once
// The pool's retry decision (pool_policy.hpp), pure: the dispatcher says what
// it knows of a task's runs and why the last one failed, and gets back whether
// to run it again, after how long, or how to fail it. Unit-tested in
// pool_rules_test without processes. Internal.

#include <actorproc/base/error.hpp>
#include <actorproc/patterns/pool_policy.hpp>

#include <chrono>
#include <optional>

namespace actorproc::detail {

/// What the dispatcher counted for one task.
struct task_runs {
  /// Runs that failed, the last one included.
  unsigned failed = 0;
  /// Of those, runs whose worker died under the task (crash, oom, deadline).
  unsigned killed_worker = 0;
};

/// The cause of a failed run, from the error that ended it; nullopt when the
/// failure is not the run's (the pool was terminated, a usage bug, a limit):
/// such a task fails at once, whatever the policy.
std::optional<task_failure> cause_of(const error& why);

struct retry_decision {
  bool again = false;
  /// How long to wait before the next run (when again).
  std::chrono::milliseconds delay{0};
  /// Every run killed its worker, more than once: the task is the likely
  /// killer, not bad luck (when !again).
  bool poison = false;
};

/// `runs` counts the failure just seen.
retry_decision decide_retry(const retry_policy& policy, task_failure cause, task_runs runs);

/// The error a task fails with once no run is left: `last` with the count of
/// runs, and for a poison task a message that names it so.
error final_failure(const error& last, task_failure cause, const retry_decision& decision, task_runs runs);

}  // namespace actorproc::detail
