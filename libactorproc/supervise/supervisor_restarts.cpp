// What a supervisor does when a child exits: OTP's restart policy. Runs on the
// supervisor's actor (see supervisor_core.hpp). The decisions are the pure
// rules of restart_rules.hpp (restart types), restart_window.hpp (intensity),
// restart_scope.hpp (which children a strategy affects) and backoff.hpp; this
// file applies them to the children and schedules the restarts.

#include <actorproc/supervise/backoff.hpp>
#include <actorproc/supervise/restart_rules.hpp>
#include <actorproc/supervise/restart_scope.hpp>
#include "supervisor_messages.hpp"

#include <algorithm>

namespace actorproc::detail {

using clock = std::chrono::steady_clock;

void supervisor_core::on_down(const caf::actor_addr& source, const exit_reason& reason) {
  for (auto& c : children.slots()) {
    if (c.watched && c.watched == source) {
      c.watched = caf::actor_addr();
      child_exited(c.key, reason);
      return;
    }
  }
}

void supervisor_core::child_exited(uint64_t key, const exit_reason& reason) {
  child_slot* slot = children.find_key(key);
  if (slot == nullptr || quitting) return;
  slot->state = child_state::stopped;
  slot->handle.reset();
  slot->nested.reset();

  if (!wants_restart(slot->spec.restart, reason)) {
    record(*slot, reason, restart_event::action::not_restarted);
    publish_exit(slot->name, false);
    bool significant = slot->spec.significant;
    if (slot->spec.restart == restart_type::temporary) children.erase(key);
    if (significant) check_auto_shutdown();
    return;
  }
  if (!window.admit(clock::now())) {
    give_up(*slot, reason);
    return;
  }
  auto delay = next_delay(*slot);
  record(*slot, reason, restart_event::action::restarted, delay);
  restart_by_strategy(key, delay);
}

void supervisor_core::restart_by_strategy(uint64_t key, std::chrono::milliseconds delay) {
  auto& slots = children.slots();
  std::vector<restart_type> types;
  for (auto& c : slots) types.push_back(c.spec.restart);
  auto scope = scope_of_restart(spec.strategy, types, children.index_of(key));
  // Keys, because stopping and dropping changes positions.
  auto key_at = [&](std::size_t i) { return slots[i].key; };
  std::vector<uint64_t> to_stop, to_drop, batch;
  for (auto i : scope.stop) to_stop.push_back(key_at(i));
  for (auto i : scope.drop) to_drop.push_back(key_at(i));
  for (auto i : scope.restart) batch.push_back(key_at(i));

  // Their named handles follow the policy before the stop begins: nothing sent
  // through them may reach an incarnation that is about to be stopped.
  for (auto k : to_stop) {
    auto* c = children.find_key(k);
    bool dropped = std::find(to_drop.begin(), to_drop.end(), k) != to_drop.end();
    publish_down(c->name, !dropped);
  }
  for (auto k : to_stop) stop_slot(*children.find_key(k));  // reverse start order
  for (auto k : to_drop) children.erase(k);

  for (uint64_t k : batch) children.find_key(k)->state = child_state::restarting;
  publish_exit(children.find_key(key)->name, true);  // the siblings' views changed before their stop
  schedule(std::move(batch), delay);
}

void supervisor_core::schedule(std::vector<uint64_t> batch, std::chrono::milliseconds delay) {
  uint64_t id = next_batch++;
  scheduled[id] = std::move(batch);
  if (delay.count() == 0) {
    self->send(self, restart_atom::value, id);
  } else {
    self->delayed_send(self, delay, restart_atom::value, id);
  }
}

void supervisor_core::run_batch(uint64_t id) {
  auto it = scheduled.find(id);
  if (it == scheduled.end() || quitting) return;
  std::vector<uint64_t> batch = std::move(it->second);
  scheduled.erase(it);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    child_slot* slot = children.find_key(batch[i]);
    if (slot == nullptr || slot->state != child_state::restarting) continue;
    auto started = start_slot(*slot);
    if (started) {
      ++slot->restarts;
      continue;
    }
    // A failed restart is retried, and every attempt counts toward intensity.
    exit_reason why = started.error().reason.value_or(
        exit_reason::because(exit_reason::kind::launch_failed, started.error().message));
    if (started.error().code == errc::node_stopped || !window.admit(clock::now())) {
      record(*slot, why, restart_event::action::start_failed);
      give_up(*slot, why);
      return;
    }
    slot->state = child_state::restarting;  // still due: the retry below must find it so
    auto delay = next_delay(*slot);
    record(*slot, why, restart_event::action::start_failed, delay);
    schedule(std::vector<uint64_t>(batch.begin() + static_cast<std::ptrdiff_t>(i), batch.end()), delay);
    return;
  }
}

std::chrono::milliseconds supervisor_core::next_delay(child_slot& slot) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto step = next_backoff(spec.backoff, slot.backoff, clock::now() - slot.started_at, unit(random));
  slot.backoff = step.base;
  return step.delay;
}

void supervisor_core::give_up(const child_slot& slot, const exit_reason& reason) {
  record(slot, reason, restart_event::action::gave_up);
  shut_down(exit_reason::because(exit_reason::kind::shutdown, "restart intensity exceeded: more than " +
                                                                  std::to_string(spec.intensity) + " restarts in " +
                                                                  std::to_string(spec.period.count()) + " ms"));
}

void supervisor_core::check_auto_shutdown() {
  if (spec.shutdown_when == auto_shutdown::never) return;
  bool any_running = false;
  for (auto& c : children.slots()) any_running |= c.spec.significant && c.state != child_state::stopped;
  if (spec.shutdown_when == auto_shutdown::any_significant || !any_running) shut_down(exit_reason::shutdown());
}

}  // namespace actorproc::detail
