// named_actor: sends and requests through the current incarnation of a
// supervised child, with its restarting policy. The state is the registry's
// (name_entry.hpp); this file is the handle's side: read the view, send
// direct, and ask the registry only while the child restarts.

#include <actorproc/supervise/named_actor.hpp>

#include "name_entry.hpp"
#include <actorproc/supervise/restart_rules.hpp>

namespace actorproc {
namespace detail {
namespace {

using clock = std::chrono::steady_clock;

std::chrono::milliseconds left_until(clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
}

}  // namespace

name_phase name_entry::phase_of(const name_view& v) const {
  if (v.phase != name_phase::running || !v.current->dying()) return v.phase;
  return may_restart(restart, v.current->exit()) ? name_phase::restarting : name_phase::stopped;
}

error name_entry::not_running(const name_view& v) const {
  std::optional<exit_reason> why = v.current ? v.current->exit() : std::nullopt;
  return error(errc::actor_down, "child '" + id + "' is not running", why);
}

expected<void> name_entry::post(wire::envelope_builder& out, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    auto view = look();
    switch (phase_of(*view)) {
      case name_phase::stopped:
        return not_running(*view);
      case name_phase::restarting: {
        if (policy == restarting_policy::fail) {
          return error(errc::actor_restarting, "child '" + id + "' is restarting");
        }
        auto kept = keep_for_next(*this, out, left_until(deadline));
        if (!kept) return kept.error();
        if (*kept == kept::kept) return {};
        continue;  // it came back meanwhile: send it straight there
      }
      case name_phase::running:
        break;
    }
    out.address(view->current->id(), 0, 0);
    if (auto sent = view->current->post_unless_dying(out.message(), left_until(deadline))) return *sent;
    // It died between the two looks: nothing was sent; look again.
  }
}

expected<wire::frame_ptr> name_entry::call(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                           bool resend) {
  auto deadline = clock::now() + timeout;
  uint64_t failed_incarnation = 0;
  bool may_wait = policy == restarting_policy::buffer || resend;
  for (;;) {
    auto view = look();
    auto phase = phase_of(*view);
    if (phase == name_phase::restarting && !may_wait) {
      return error(errc::actor_restarting, "child '" + id + "' is restarting");
    }
    if (phase == name_phase::stopped) return not_running(*view);
    if (phase != name_phase::running || view->incarnation == failed_incarnation) {
      // Wait for a running incarnation newer than the one that failed us.
      if (left_until(deadline).count() == 0 || !await_incarnation(*this, failed_incarnation, left_until(deadline))) {
        auto now = look();
        if (phase_of(*now) == name_phase::stopped) return not_running(*now);
        return error(errc::timeout, "child '" + id + "' did not come back within the timeout");
      }
      continue;
    }
    auto answer = view->current->call_unless_dying(out, left_until(deadline));
    if (!answer) continue;  // it died before the request was sent: the policy applies, as above
    if (*answer || !resend || answer->error().code != errc::actor_down || left_until(deadline).count() == 0) {
      return std::move(*answer);
    }
    failed_incarnation = view->incarnation;  // idempotent: try the next incarnation
  }
}

}  // namespace detail

const std::string& named_actor::id() const { return entry_->id; }

std::optional<actor_handle> named_actor::current() const {
  auto view = entry_->look();
  if (entry_->phase_of(*view) != detail::name_phase::running) return std::nullopt;
  return view->current;
}

expected<void> named_actor::post(wire::envelope_builder& out, std::chrono::milliseconds timeout) const {
  if (!entry_) return error(errc::unknown_actor, "an empty named_actor");
  return entry_->post(out, timeout);
}

expected<wire::frame_ptr> named_actor::call(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                            bool resend) const {
  if (!entry_) return error(errc::unknown_actor, "an empty named_actor");
  return entry_->call(out, timeout, resend);
}

}  // namespace actorproc
