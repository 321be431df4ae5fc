#pragma once
// How the reactor decides an actor's exit reason from what it knows once the
// process is reaped. Pure, so the precedence is unit-tested without processes.
// Internal.

#include <actorproc/base/exit_reason.hpp>

#include <optional>

namespace actorproc::detail {

struct exit_evidence {
  /// What the kernel said (waitid status).
  exit_reason kernel;
  /// What the node itself decided (a protocol error, a missed heartbeat, a
  /// start that timed out): it wins over everything.
  std::optional<exit_reason> imposed;
  /// What the worker announced before exiting (its exit frame).
  std::optional<exit_reason> announced;
  /// What a stop request asked the actor to report (normal, shutdown...).
  std::optional<exit_reason> stop_reason;
};

/// The precedence: the node's own verdict; then an abnormal reason the worker
/// saw itself (an exception, a protocol error, a launch failure: the kernel only
/// sees exit code 1 for those); then, for a clean exit, what the worker or the
/// stop request said; otherwise the kernel's signal or exit code.
exit_reason decide_exit_reason(const exit_evidence& evidence);

}  // namespace actorproc::detail
