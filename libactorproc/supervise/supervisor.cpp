// The supervisor's host API. Every call is a CAF request to the supervisor's
// actor (supervisor_messages.hpp), answered once the tree has done it; waits
// for its exit are CAF monitors. Nothing here touches the tree itself.

#include <actorproc/supervise/supervisor.hpp>

#include "supervisor_messages.hpp"

namespace actorproc {

using detail::supervisor_core;
namespace msg = detail;

expected<supervisor> supervisor::start(node& n, supervisor_spec spec) {
  std::string path = spec.name;
  auto core = supervisor_core::launch(n, std::move(spec), std::move(path));
  if (!core) return core.error();
  // The tree stops in order, top down, before the node stops whatever is left.
  std::weak_ptr<supervisor_core> weak = *core;
  n.add_shutdown_hook([weak] {
    if (auto c = weak.lock()) supervisor(c).stop();
  });
  return supervisor(*core);
}

const std::string& supervisor::name() const { return core_->path; }

expected<supervisor> supervisor::child_supervisor(std::string_view id) const {
  if (auto slash = id.find('/'); slash != std::string_view::npos) {
    auto parent = child_supervisor(id.substr(0, slash));
    if (!parent) return parent.error();
    return parent->child_supervisor(id.substr(slash + 1));
  }
  auto nested = msg::call<std::shared_ptr<supervisor_core>>(*core_, msg::nested_atom::value, std::string(id));
  if (!nested) return nested.error();
  return supervisor(*nested);
}

named_actor supervisor::child(std::string_view id) const {
  if (auto slash = id.rfind('/'); slash != std::string_view::npos) {
    auto parent = child_supervisor(id.substr(0, slash));
    if (parent) return parent->child(id.substr(slash + 1));
    return named_actor(detail::name_entry::unknown(std::string(id)));
  }
  auto entry = msg::call<std::shared_ptr<detail::name_entry>>(*core_, msg::child_atom::value, std::string(id));
  if (entry) return named_actor(*entry);
  // An unknown child (or a dead supervisor): a handle whose every call fails.
  return named_actor(detail::name_entry::unknown(std::string(id)));
}

std::vector<child_info> supervisor::which_children() const {
  auto rows = msg::call<std::vector<child_info>>(*core_, msg::which_atom::value);
  return rows ? *rows : std::vector<child_info>{};
}

child_counts supervisor::count_children() const {
  child_counts counts;
  // As in OTP, a simple_one_for_one supervisor has one spec however many
  // children it started from it; workers and supervisors count the children.
  if (core_->spec.strategy == restart_strategy::simple_one_for_one) counts.specs = 1;
  for (auto& c : which_children()) {
    if (core_->spec.strategy != restart_strategy::simple_one_for_one) ++counts.specs;
    if (c.state == child_state::running) ++counts.active;
    if (c.is_supervisor) {
      ++counts.supervisors;
    } else {
      ++counts.workers;
    }
  }
  return counts;
}

expected<child_info> supervisor::start_child(child_spec spec) const {
  return msg::call<child_info>(*core_, msg::start_child_atom::value, std::move(spec));
}

expected<child_info> supervisor::start_child(std::vector<std::string> args) const {
  return msg::call<child_info>(*core_, msg::start_child_atom::value, std::move(args));
}

expected<void> supervisor::terminate_child(std::string_view id) const {
  auto done = msg::call<bool>(*core_, msg::terminate_atom::value, std::string(id));
  if (!done) return done.error();
  return {};
}

expected<child_info> supervisor::restart_child(std::string_view id) const {
  return msg::call<child_info>(*core_, msg::restart_child_atom::value, std::string(id));
}

expected<void> supervisor::delete_child(std::string_view id) const {
  auto done = msg::call<bool>(*core_, msg::delete_atom::value, std::string(id));
  if (!done) return done.error();
  return {};
}

std::vector<restart_event> supervisor::restart_log() const { return core_->restart_log(); }

std::vector<actor_snapshot> supervisor::snapshot() const {
  auto rows = msg::call<std::vector<actor_snapshot>>(*core_, msg::snapshot_atom::value);
  return rows ? *rows : std::vector<actor_snapshot>{};
}

void supervisor::stop() const {
  if (auto target = core_->actor()) msg::tell(target, msg::shutdown_atom::value);
  (void)msg::await_exit(*core_, std::chrono::hours(24));
}

bool supervisor::alive() const { return !core_->exit_reason_now().has_value(); }

expected<exit_reason> supervisor::join(std::chrono::milliseconds timeout) const {
  if (auto reason = msg::await_exit(*core_, timeout)) return *reason;
  return error(errc::timeout, "supervisor '" + core_->path + "' is still running");
}

}  // namespace actorproc
