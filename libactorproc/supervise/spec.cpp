// The rules a supervisor spec must follow before anything starts: OTP's
// (supervisor:check_flags/1 and check_childspec/2), plus the one on
// simple_one_for_one and auto_shutdown (see spec.hpp). Pure: no processes.

#include <actorproc/supervise/spec.hpp>

#include <set>

namespace actorproc {
namespace {

error refused(const std::string& supervisor, const std::string& what) {
  return error(errc::invalid_argument, "supervisor '" + supervisor + "': " + what);
}

const char* to_string(auto_shutdown value) {
  switch (value) {
    case auto_shutdown::never:
      return "never";
    case auto_shutdown::any_significant:
      return "any_significant";
    case auto_shutdown::all_significant:
      return "all_significant";
  }
  return "unknown";
}

}  // namespace

expected<void> check_child_spec(const child_spec& spec, const std::string& supervisor) {
  if (spec.shutdown && spec.shutdown->how == shutdown_policy::kind::graceful && spec.shutdown->grace.count() < 0) {
    return refused(supervisor, "child '" + spec.id + "': shutdown must be >= 0 ms, got " +
                                   std::to_string(spec.shutdown->grace.count()) + " ms");
  }
  if (spec.supervisor) return check_spec(*spec.supervisor);
  return {};
}

expected<void> check_spec(const supervisor_spec& spec) {
  if (spec.intensity < 0) {
    return refused(spec.name, "intensity must be >= 0, got " + std::to_string(spec.intensity));
  }
  if (spec.period.count() <= 0) {
    return refused(spec.name, "period must be > 0 ms, got " + std::to_string(spec.period.count()) + " ms");
  }
  if (spec.strategy == restart_strategy::simple_one_for_one) {
    if (spec.children.size() != 1) {
      return refused(spec.name,
                     "simple_one_for_one takes exactly one child spec, got " + std::to_string(spec.children.size()));
    }
    if (spec.shutdown_when != auto_shutdown::never) {
      return refused(spec.name, std::string("auto_shutdown must be never with simple_one_for_one, got ") +
                                    to_string(spec.shutdown_when));
    }
  }
  std::set<std::string> ids;
  for (auto& child : spec.children) {
    if (!ids.insert(child.id).second) return refused(spec.name, "child ids must be unique; '" + child.id + "' repeats");
    if (auto checked = check_child_spec(child, spec.name); !checked) return checked;
  }
  return {};
}

}  // namespace actorproc
