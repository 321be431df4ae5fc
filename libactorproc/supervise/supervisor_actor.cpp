// The supervisor's actor: OTP's rules applied to real processes. Everything
// here runs on the actor's own thread (see supervisor_core.hpp); the rules
// themselves (intensity, backoff, strategy scope, restart types) are pure
// functions in files of their own, unit-tested in rules_test.

#include "supervisor_messages.hpp"

#include <actorproc/node/stop_ladder.hpp>

#include <actorproc/node/tsan_handoff.hpp>

namespace actorproc::detail {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Restart log entries kept per supervisor.
constexpr std::size_t log_limit = 1000;

shutdown_policy shutdown_of(const child_spec& s) {
  if (s.shutdown) return *s.shutdown;
  return s.supervisor ? shutdown_policy::infinity() : shutdown_policy::after(5000ms);
}

caf::behavior supervisor_actor(caf::event_based_actor* self, std::shared_ptr<supervisor_core> core) {
  core->self = self;
  core->registry = spawn_name_registry(self->home_system(), caf::actor_cast<caf::actor>(self));
  self->set_down_handler([core](caf::down_msg& down) { core->on_down(down.source, from_caf_error(down.reason)); });
  self->attach_functor([core](const caf::error& reason) { core->exited(from_caf_error(reason)); });
  return {
      [core](init_atom) -> expected<bool> {
        handoff_scope sync{core->self->ctrl()};
        if (auto started = core->start_all(); !started) return started.error();
        return true;
      },
      [core](which_atom) -> expected<std::vector<child_info>> {
        handoff_scope sync{core->self->ctrl()};
        std::vector<child_info> out;
        for (auto& slot : core->children.slots()) out.push_back(child_table::info_of(slot));
        return out;
      },
      [core](start_child_atom, child_spec& spec) -> expected<child_info> {
        handoff_scope sync{core->self->ctrl()};
        if (core->spec.strategy == restart_strategy::simple_one_for_one) {
          return error(errc::invalid_argument, "a simple_one_for_one supervisor starts children with start_child(args)");
        }
        if (auto checked = check_child_spec(spec, core->path); !checked) return checked.error();
        if (core->children.find(spec.id)) {
          return error(errc::invalid_argument,
                       "supervisor '" + core->path + "': child ids must be unique; '" + spec.id + "' already exists");
        }
        return core->add_and_start(std::move(spec));
      },
      [core](start_child_atom, const std::vector<std::string>& args) -> expected<child_info> {
        handoff_scope sync{core->self->ctrl()};
        if (core->spec.strategy != restart_strategy::simple_one_for_one) {
          return error(errc::invalid_argument, "start_child(args) is for simple_one_for_one supervisors");
        }
        child_spec spec = core->spec.children.front();
        spec.id = child_table::dynamic_id(spec.id, ++core->dynamic_children);
        spec.args.insert(spec.args.end(), args.begin(), args.end());
        return core->add_and_start(std::move(spec));
      },
      [core](terminate_atom, const std::string& id) -> expected<bool> {
        handoff_scope sync{core->self->ctrl()};
        auto* slot = core->children.find(id);
        // As in OTP, terminating a dynamic child that is already gone succeeds.
        if (slot == nullptr && core->spec.strategy == restart_strategy::simple_one_for_one &&
            child_table::is_dynamic_id(id, core->spec.children.front().id, core->dynamic_children)) {
          return true;
        }
        if (slot == nullptr) return error(errc::unknown_actor, "no child '" + id + "'");
        publish_down(slot->name, false);
        core->stop_slot(*slot);
        slot->state = child_state::stopped;
        // A temporary child's spec goes with it, and so does a dynamic child's.
        if (slot->spec.restart == restart_type::temporary || core->spec.strategy == restart_strategy::simple_one_for_one) {
          core->children.erase(slot->key);
        }
        return true;
      },
      [core](restart_child_atom, const std::string& id) -> expected<child_info> {
        handoff_scope sync{core->self->ctrl()};
        auto* slot = core->children.find(id);
        if (slot == nullptr) return error(errc::unknown_actor, "no child '" + id + "'");
        if (slot->state != child_state::stopped) return error(errc::invalid_argument, "child '" + id + "' is running");
        if (auto r = core->start_slot(*slot); !r) return r.error();
        return child_table::info_of(*slot);
      },
      [core](delete_atom, const std::string& id) -> expected<bool> {
        handoff_scope sync{core->self->ctrl()};
        auto* slot = core->children.find(id);
        if (slot == nullptr) return error(errc::unknown_actor, "no child '" + id + "'");
        if (slot->state != child_state::stopped) return error(errc::invalid_argument, "child '" + id + "' is running");
        core->children.erase(slot->key);
        return true;
      },
      [core](snapshot_atom) -> expected<std::vector<actor_snapshot>> {
        handoff_scope sync{core->self->ctrl()};
        return core->snapshot();
      },
      [core](child_atom, const std::string& id) -> expected<std::shared_ptr<name_entry>> {
        handoff_scope sync{core->self->ctrl()};
        if (auto* slot = core->children.find(id)) return slot->name;
        return error(errc::unknown_actor, "no child '" + id + "'");
      },
      [core](nested_atom, const std::string& id) -> expected<std::shared_ptr<supervisor_core>> {
        handoff_scope sync{core->self->ctrl()};
        auto* slot = core->children.find(id);
        if (slot == nullptr) return error(errc::unknown_actor, "no child '" + id + "'");
        if (!slot->nested) return error(errc::actor_down, "child '" + id + "' is not a running supervisor");
        return slot->nested;
      },
      [core](shutdown_atom) {
        handoff_scope sync{core->self->ctrl()};
        core->shut_down(exit_reason::shutdown());
      },
      [core](restart_atom, uint64_t batch) {
        handoff_scope sync{core->self->ctrl()};
        core->run_batch(batch);
      },
      [core](dead_atom, uint64_t key) {
        handoff_scope sync{core->self->ctrl()};
        if (auto* slot = core->children.find_key(key); slot && slot->died_early) core->child_exited(key, *slot->died_early);
      },
  };
}

}  // namespace

// ------------------------------------------------------------------ shared with host threads

caf::actor supervisor_core::actor() const {
  std::lock_guard lock(mutex_);
  return actor_;
}

std::optional<exit_reason> supervisor_core::exit_reason_now() const {
  std::lock_guard lock(mutex_);
  return exit_;
}

std::vector<restart_event> supervisor_core::restart_log() const {
  std::lock_guard lock(mutex_);
  return {log_.begin(), log_.end()};
}

void supervisor_core::adopt(caf::actor spawned) {
  std::lock_guard lock(mutex_);
  actor_ = std::move(spawned);
}

void supervisor_core::exited(const exit_reason& reason) {
  caf::actor last_reference;
  {
    std::lock_guard lock(mutex_);
    exit_ = reason;
    last_reference.swap(actor_);  // released outside the lock
  }
  self = nullptr;
}

void supervisor_core::record(const child_slot& slot, const exit_reason& reason, restart_event::action what,
                             std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  log_.push_back({std::chrono::system_clock::now(), path, slot.spec.id, slot.incarnation, reason, what, delay});
  if (log_.size() > log_limit) log_.pop_front();
}

// ------------------------------------------------------------------ starting

expected<std::shared_ptr<supervisor_core>> supervisor_core::launch(node& n, supervisor_spec spec, std::string path) {
  if (auto checked = check_spec(spec); !checked) return checked.error();
  auto core = std::make_shared<supervisor_core>(n, std::move(spec), std::move(path));
  core->adopt(n.system().spawn<caf::detached>(supervisor_actor, core));
  // Children start in order, each once ready; the first failure undoes the rest.
  auto started = call<bool>(*core, init_atom::value);
  if (!started) {
    (void)await_exit(*core, call_patience);
    return started.error();
  }
  return core;
}

expected<void> supervisor_core::start_all() {
  if (spec.strategy == restart_strategy::simple_one_for_one) return {};  // children come with start_child
  for (auto& s : spec.children) children.add(s, make_name(s));
  for (auto& slot : children.slots()) {
    if (auto r = start_slot(slot); !r) {
      shut_down(exit_reason::shutdown());
      return r.error();
    }
  }
  return {};
}

std::shared_ptr<name_entry> supervisor_core::make_name(const child_spec& s) const {
  return std::make_shared<name_entry>(s.id, s.while_restarting, s.restart_buffer, s.restart, registry.address());
}

// A child added at run time: kept only if it starts.
expected<child_info> supervisor_core::add_and_start(child_spec s) {
  auto name = make_name(s);
  uint64_t key = children.add(std::move(s), std::move(name)).key;
  if (auto started = start_slot(*children.find_key(key)); !started) {
    children.erase(key);
    return started.error();
  }
  return child_table::info_of(*children.find_key(key));
}

expected<void> supervisor_core::start_slot(child_slot& slot) {
  slot.state = child_state::starting;
  slot.died_early.reset();
  std::string child_path = path + "/" + slot.spec.id;
  if (slot.spec.supervisor) {
    auto nested = launch(owner, *slot.spec.supervisor, child_path);
    if (!nested) {
      slot.state = child_state::stopped;
      return error(errc::launch_failed, "child '" + slot.spec.id + "' failed to start: " + nested.error().message,
                   nested.error().reason);
    }
    slot.nested = *nested;
    if (caf::actor target = slot.nested->actor()) {
      slot.watched = target.address();
      self->monitor(target);
    } else {
      slot.died_early = slot.nested->exit_reason_now().value_or(
          exit_reason::because(exit_reason::kind::shutdown, "exited while starting"));
      self->send(self, dead_atom::value, slot.key);
    }
  } else {
    spawn_options options;
    options.name = child_path;
    options.args = slot.spec.args;
    options.method = slot.spec.method;
    options.program = slot.spec.program;
    options.heartbeat = slot.spec.heartbeat;
    auto handle = owner.spawn(slot.spec.actor_type, std::move(options));
    if (!handle) {
      slot.state = child_state::stopped;
      return error(handle.error().code == errc::node_stopped ? errc::node_stopped : errc::launch_failed,
                   "child '" + slot.spec.id + "' failed to start: " + to_string(handle.error()), handle.error().reason);
    }
    slot.handle = *handle;
    if (caf::actor proxy = proxy_of(owner, *handle)) {
      slot.watched = proxy.address();
      self->monitor(proxy);
    } else {
      // It already exited: no proxy is left to monitor, so report the exit ourselves.
      slot.died_early = handle->exit().value_or(exit_reason::normal());
      self->send(self, dead_atom::value, slot.key);
    }
  }
  slot.state = child_state::running;
  ++slot.incarnation;
  slot.started_at = clock::now();
  if (slot.handle) publish_up(slot.name, *slot.handle);
  return {};
}

// ------------------------------------------------------------------ stopping

// Stops a running child deliberately: its exit will not count as a failure.
void supervisor_core::begin_stop(child_slot& slot) {
  if (slot.state != child_state::running) return;
  slot.state = child_state::stopping;
  if (slot.watched) self->demonitor(slot.watched);
  slot.watched = caf::actor_addr();
  auto policy = shutdown_of(slot.spec);
  if (slot.handle) {
    switch (policy.how) {
      case shutdown_policy::kind::brutal_kill:
        slot.handle->kill();
        break;
      case shutdown_policy::kind::graceful:
        slot.handle->stop(exit_reason::shutdown(), policy.grace);
        break;
      case shutdown_policy::kind::infinity:
        slot.handle->stop(exit_reason::shutdown(), 24h);
        break;
    }
  } else if (slot.nested) {
    if (auto target = slot.nested->actor()) tell(target, shutdown_atom::value);
  }
}

void supervisor_core::finish_stop(child_slot& slot) {
  if (slot.state != child_state::stopping) return;
  auto policy = shutdown_of(slot.spec);
  if (slot.handle) {
    // The ladder ends with SIGKILL within the grace period: this wait is bounded.
    auto bound = policy.how == shutdown_policy::kind::infinity ? std::chrono::milliseconds(24h)
                                                               : ladder_for(policy.grace).sigkill_at + 10s;
    (void)slot.handle->join(bound);
  } else if (slot.nested) {
    (void)await_exit(*slot.nested, 24h);
  }
  slot.handle.reset();
  slot.nested.reset();
  slot.state = child_state::stopped;
}

void supervisor_core::stop_slot(child_slot& slot) {
  begin_stop(slot);
  finish_stop(slot);
}

// Stops children [from, end) in reverse start order; simple_one_for_one in parallel.
void supervisor_core::stop_range(std::size_t from) {
  auto& slots = children.slots();
  if (spec.strategy == restart_strategy::simple_one_for_one) {
    for (std::size_t i = slots.size(); i-- > from;) begin_stop(slots[i]);
  }
  for (std::size_t i = slots.size(); i-- > from;) stop_slot(slots[i]);
}

std::vector<actor_snapshot> supervisor_core::snapshot() const {
  std::vector<actor_snapshot> rows;
  for (auto& c : children.slots()) {
    rows.push_back(snapshot_row(path, c));
    if (c.nested) {
      auto below = call<std::vector<actor_snapshot>>(*c.nested, snapshot_atom::value);
      if (below) rows.insert(rows.end(), below->begin(), below->end());
    }
  }
  return rows;
}

void supervisor_core::shut_down(exit_reason reason) {
  if (quitting) return;
  quitting = true;
  for (auto& c : children.slots()) publish_down(c.name, false);
  stop_range(0);
  self->quit(to_caf_error(reason));
}

}  // namespace actorproc::detail
