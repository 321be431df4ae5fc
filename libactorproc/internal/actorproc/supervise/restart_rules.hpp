#pragma once
// Which exits are followed by a restart: OTP's rule for the restart types. Internal.

#include <actorproc/base/exit_reason.hpp>
#include <actorproc/supervise/spec.hpp>

#include <optional>

namespace actorproc::detail {

/// Whether a child of restart type `type` that exited for `reason` is restarted
/// (if intensity permits).
inline bool wants_restart(restart_type type, const exit_reason& reason) {
  switch (type) {
    case restart_type::permanent:
      return true;
    case restart_type::transient:
      return !reason.is_normal();
    case restart_type::temporary:
      return false;
  }
  return false;
}

/// Whether another incarnation may follow one whose death the node has seen,
/// before its supervisor has decided: yes unless the restart type already says
/// no. `reason` is unknown until the exit is final.
inline bool may_restart(restart_type type, const std::optional<exit_reason>& reason) {
  if (type == restart_type::temporary) return false;
  return !reason || wants_restart(type, *reason);
}

}  // namespace actorproc::detail
