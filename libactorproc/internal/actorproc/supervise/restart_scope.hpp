#pragma once
// Which children a failure affects, by strategy (OTP's rules). Pure: it works on
// the children's restart types in start order and answers with positions, so
// it is unit-tested without processes. Internal.
//
// - one_for_one, simple_one_for_one: only the failed child restarts.
// - one_for_all: every other child is stopped (in reverse start order), then
//   all restart in start order.
// - rest_for_one: the children started after the failed one are stopped, then
//   those and the failed one restart.
// A temporary sibling stopped this way is not restarted: its spec is dropped.

#include <actorproc/supervise/spec.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace actorproc::detail {

struct restart_scope {
  /// Siblings to stop first, in the order to stop them (reverse start order).
  std::vector<std::size_t> stop;
  /// Those of `stop` whose specs are dropped (temporary), in descending order.
  std::vector<std::size_t> drop;
  /// Children to restart, in start order (positions before any drop).
  std::vector<std::size_t> restart;
};

/// `types`: the restart types of the children in start order; `failed`: the
/// position of the child that exited and is to be restarted.
restart_scope scope_of_restart(restart_strategy strategy, std::span<const restart_type> types, std::size_t failed);

}  // namespace actorproc::detail
