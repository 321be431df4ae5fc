// The pool's retry decision (internal/actorproc/patterns/pool_retry.hpp).
#include <actorproc/patterns/pool_retry.hpp>

#include <algorithm>
#include <string>

namespace actorproc {

const char* to_string(task_failure cause) {
  switch (cause) {
    case task_failure::crash:
      return "crash";
    case task_failure::oom:
      return "oom";
    case task_failure::deadline:
      return "deadline";
    case task_failure::exception:
      return "exception";
  }
  return "?";
}

}  // namespace actorproc

namespace actorproc::detail {

std::optional<task_failure> cause_of(const error& why) {
  switch (why.code) {
    case errc::handler_exception:
      return task_failure::exception;
    case errc::timeout:
      return task_failure::deadline;
    case errc::actor_down:
      if (why.reason && why.reason->what == exit_reason::kind::oom) return task_failure::oom;
      if (why.reason && why.reason->what == exit_reason::kind::hung) return task_failure::deadline;
      return task_failure::crash;
    default:
      // A run the pool could not hand over (retry_later, a worker that went
      // away between two chunks) is the worker's doing, as a crash is.
      if (classify(why.code) == error_class::retry_later || classify(why.code) == error_class::peer_gone) {
        return task_failure::crash;
      }
      return std::nullopt;
  }
}

retry_decision decide_retry(const retry_policy& policy, task_failure cause, task_runs runs) {
  retry_decision d;
  if (policy.retries(cause) && runs.failed <= policy.max_retries) {
    d.again = true;
    // The n-th retry waits first_delay x 2^(n-1); the shift is capped so that
    // a large retry count cannot overflow it.
    unsigned doublings = std::min(runs.failed - 1, 20u);
    auto delay = policy.first_delay * (int64_t{1} << doublings);
    d.delay = std::min(delay, std::max(policy.max_delay, policy.first_delay));
    return d;
  }
  d.poison = runs.failed > 1 && runs.killed_worker == runs.failed;
  return d;
}

error final_failure(const error& last, task_failure cause, const retry_decision& decision, task_runs runs) {
  error out = last;
  std::string runs_text = std::to_string(runs.failed) + (runs.failed == 1 ? " run" : " runs");
  if (decision.poison) {
    out.message = "poison task: it killed its worker on each of its " + runs_text + "; the last (" + to_string(cause) +
                  "): " + last.message;
  } else if (runs.failed > 1) {
    out.message = "failed after " + runs_text + "; the last (" + to_string(cause) + "): " + last.message;
  }
  return out;
}

}  // namespace actorproc::detail
