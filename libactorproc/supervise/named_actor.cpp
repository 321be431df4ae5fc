#include <actorproc/supervise/named_actor.hpp>

#include "name_entry.hpp"
#include "restart_rules.hpp"

namespace actorproc {
namespace detail {
namespace {

using clock = std::chrono::steady_clock;

std::chrono::milliseconds left_until(clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
}

}  // namespace

void name_entry::up(const actor_handle& handle) {
  std::lock_guard lock(mutex);
  current = handle;
  state = phase::running;
  ++incarnation;
  // Delivered under the lock, so that sends made meanwhile queue up behind them.
  // If this incarnation is already dying, the rest wait for the next one.
  while (!buffered.empty()) {
    auto& message = *buffered.front();
    auto env = message.getRoot<schema::Envelope>();
    env.setTo(handle.id());
    if (!handle.post_unless_dying(message, default_timeout)) break;
    buffered.pop_front();
  }
  changed.notify_all();
}

void name_entry::down(bool restarting) {
  std::lock_guard lock(mutex);
  current.reset();
  state = restarting ? phase::restarting : phase::stopped;
  if (!restarting) buffered.clear();
  changed.notify_all();
}

name_entry::phase name_entry::phase_locked() const {
  if (state != phase::running || !current->dying()) return state;
  return may_restart(restart, current->exit()) ? phase::restarting : phase::stopped;
}

error name_entry::not_running_locked() const {
  std::optional<exit_reason> why = current ? current->exit() : std::nullopt;
  return error(errc::actor_down, "child '" + id + "' is not running", why);
}

expected<void> name_entry::keep_locked(wire::envelope_builder& out) {
  if (policy == restarting_policy::fail) return error(errc::actor_restarting, "child '" + id + "' is restarting");
  if (buffered.size() >= buffer_limit) {
    return error(errc::mailbox_full, "child '" + id + "' is restarting and " + std::to_string(buffer_limit) +
                                         " messages already wait for it");
  }
  auto copy = std::make_unique<capnp::MallocMessageBuilder>();
  copy->setRoot(out.envelope().asReader());
  buffered.push_back(std::move(copy));
  return {};
}

expected<void> name_entry::post(wire::envelope_builder& out, std::chrono::milliseconds timeout) {
  for (;;) {
    std::unique_lock lock(mutex);
    switch (phase_locked()) {
      case phase::stopped:
        return not_running_locked();
      case phase::restarting:
        return keep_locked(out);
      case phase::running:
        break;
    }
    actor_handle target = *current;
    lock.unlock();
    out.address(target.id(), 0, 0);
    if (auto sent = target.post_unless_dying(out.message(), timeout)) return *sent;
    // It died between the two looks: nothing was sent; look again.
  }
}

expected<wire::frame_ptr> name_entry::call(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                           bool resend) {
  auto deadline = clock::now() + timeout;
  uint64_t failed_incarnation = 0;
  for (;;) {
    std::unique_lock lock(mutex);
    bool may_wait = policy == restarting_policy::buffer || resend;
    if (phase_locked() == phase::restarting && !may_wait) {
      return error(errc::actor_restarting, "child '" + id + "' is restarting");
    }
    // Wait for a running incarnation newer than the one that failed us.
    changed.wait_until(lock, deadline, [&] {
      auto now = phase_locked();
      return now == phase::stopped || (now == phase::running && incarnation != failed_incarnation);
    });
    auto now = phase_locked();
    if (now == phase::stopped) return not_running_locked();
    if (now != phase::running || incarnation == failed_incarnation) {
      return error(errc::timeout, "child '" + id + "' did not come back within the timeout");
    }
    actor_handle target = *current;
    uint64_t tried = incarnation;
    lock.unlock();
    auto answer = target.call_unless_dying(out, left_until(deadline));
    if (!answer) continue;  // it died before the request was sent: the policy applies, as above
    if (*answer || !resend || answer->error().code != errc::actor_down || left_until(deadline).count() == 0) {
      return std::move(*answer);
    }
    failed_incarnation = tried;  // idempotent: try the next incarnation
  }
}

}  // namespace detail

const std::string& named_actor::id() const { return entry_->id; }

std::optional<actor_handle> named_actor::current() const {
  std::lock_guard lock(entry_->mutex);
  if (entry_->phase_locked() != detail::name_entry::phase::running) return std::nullopt;
  return entry_->current;
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
