#pragma once
// The messages a supervisor's actor takes, and the two blocking helpers host
// threads (and parent supervisors) use to reach it: a request that waits for
// its answer, and a wait for its exit. Internal; includes CAF.

#include "supervisor_core.hpp"

#include <actorproc/node/caf_interop.hpp>
#include <actorproc/node/tsan_handoff.hpp>

#include <caf/all.hpp>

// Local messages only (a supervisor is not reached from another node yet), so
// these need no serialization.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::expected<bool>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::expected<actorproc::child_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::expected<std::vector<actorproc::child_info>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::expected<std::vector<actorproc::actor_snapshot>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::expected<std::shared_ptr<actorproc::detail::name_entry>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::expected<std::shared_ptr<actorproc::detail::supervisor_core>>)

namespace actorproc::detail {

// Host API calls: each answers with an expected<...>.
using init_atom = caf::atom_constant<caf::atom("sup_init")>;            // -> expected<bool>
using which_atom = caf::atom_constant<caf::atom("sup_which")>;          // -> expected<vector<child_info>>
using start_child_atom = caf::atom_constant<caf::atom("sup_start")>;    // spec | args -> expected<child_info>
using terminate_atom = caf::atom_constant<caf::atom("sup_term")>;       // id -> expected<bool>
using restart_child_atom = caf::atom_constant<caf::atom("sup_rchild")>;  // id -> expected<child_info>
using delete_atom = caf::atom_constant<caf::atom("sup_del")>;           // id -> expected<bool>
using snapshot_atom = caf::atom_constant<caf::atom("sup_snap")>;        // -> expected<vector<actor_snapshot>>
using child_atom = caf::atom_constant<caf::atom("sup_child")>;          // id -> expected<shared_ptr<name_entry>>
using nested_atom = caf::atom_constant<caf::atom("sup_nest")>;          // id -> expected<shared_ptr<supervisor_core>>
// One-way.
using shutdown_atom = caf::atom_constant<caf::atom("sup_shut")>;  // stop the children, then exit
using restart_atom = caf::atom_constant<caf::atom("sup_rst")>;    // batch id: a timed restart is due
using dead_atom = caf::atom_constant<caf::atom("sup_dead")>;      // key: a child exited before it was monitored

/// A one-way message to a supervisor from another thread.
template <class... Ts>
void tell(const caf::actor& target, Ts&&... xs) {
  handoff_release(caf::actor_cast<caf::strong_actor_ptr>(target).get());
  caf::anon_send(target, std::forward<Ts>(xs)...);
}

// Only a broken tree makes a caller wait this long: every step a supervisor
// takes is itself bounded.
inline constexpr auto call_patience = std::chrono::minutes(10);

/// Sends a request to the supervisor and waits for its answer; actor_down if
/// it has exited (or exits before answering).
template <class R, class... Ts>
expected<R> call(const supervisor_core& core, Ts&&... xs) {
  caf::actor target = core.actor();
  auto gone = [&] { return error(errc::actor_down, "supervisor '" + core.path + "' has exited"); };
  if (!target) return gone();
  caf::scoped_actor self{target->home_system()};
  std::optional<expected<R>> answer;
  auto* sync = caf::actor_cast<caf::strong_actor_ptr>(target).get();
  handoff_release(sync);
  self->request(target, call_patience, std::forward<Ts>(xs)...)
      .receive([&](expected<R>& value) { answer = std::move(value); },
               [&](caf::error& e) {
                 if (e == caf::sec::request_timeout) {
                   answer = error(errc::timeout, "supervisor '" + core.path + "' did not answer");
                 } else {
                   answer = gone();
                 }
               });
  handoff_acquire(sync);
  return std::move(*answer);
}

/// Waits up to `timeout` for the supervisor's exit; its reason, or nullopt.
inline std::optional<exit_reason> await_exit(const supervisor_core& core, std::chrono::milliseconds timeout) {
  caf::actor target = core.actor();
  if (!target) return core.exit_reason_now();  // null only once the exit is recorded
  caf::scoped_actor self{target->home_system()};
  self->monitor(target);
  std::optional<exit_reason> reason;
  self->receive([&](caf::down_msg& down) { reason = from_caf_error(down.reason); },
                caf::after(std::max(timeout, std::chrono::milliseconds(0))) >> [] {});
  return reason;
}

}  // namespace actorproc::detail
