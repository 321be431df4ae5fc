// Introspection of supervision trees: the words and tables the host API and
// the restart log print, and one snapshot row per child.

#include "supervisor_core.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>

namespace actorproc {
namespace detail {
namespace {

std::size_t rss_of(pid_t pid) {
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

actor_snapshot snapshot_row(const std::string& supervisor_path, const child_slot& c) {
  actor_snapshot row;
  row.path = supervisor_path + "/" + c.spec.id;
  row.is_supervisor = c.spec.supervisor != nullptr;
  row.state = c.state;
  row.restarts = c.restarts;
  if (c.handle) {
    row.pid = c.handle->pid();
    auto stats = c.handle->stats();
    row.messages_in = stats.messages_in;
    row.messages_out = stats.messages_out;
    row.mailbox_bytes = stats.mailbox_bytes;
    row.rss_bytes = rss_of(row.pid);
  }
  return row;
}

}  // namespace detail

const char* to_string(child_state state) {
  switch (state) {
    case child_state::starting:
      return "starting";
    case child_state::running:
      return "running";
    case child_state::restarting:
      return "restarting";
    case child_state::stopping:
      return "stopping";
    case child_state::stopped:
      return "stopped";
  }
  return "unknown";
}

std::string to_string(const restart_event& event) {
  static constexpr const char* actions[] = {"restarted", "not restarted", "restart failed", "gave up"};
  std::time_t t = std::chrono::system_clock::to_time_t(event.when);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(stamp) + " " + event.supervisor + "/" + event.child + " incarnation " +
         std::to_string(event.incarnation) + " exited (" + to_string(event.reason) +
         "): " + actions[static_cast<int>(event.what)] +
         (event.delay.count() > 0 ? " after " + std::to_string(event.delay.count()) + " ms" : "");
}

std::string to_string(const std::vector<actor_snapshot>& tree) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-40s %-10s %8s %8s %10s %10s %10s %10s\n", "actor", "state", "pid", "restarts",
                "msgs in", "msgs out", "mailbox B", "rss KiB");
  out += line;
  for (auto& row : tree) {
    std::snprintf(line, sizeof line, "%-40s %-10s %8d %8llu %10llu %10llu %10zu %10zu\n",
                  (row.path + (row.is_supervisor ? " (sup)" : "")).c_str(), to_string(row.state), row.pid,
                  static_cast<unsigned long long>(row.restarts), static_cast<unsigned long long>(row.messages_in),
                  static_cast<unsigned long long>(row.messages_out), row.mailbox_bytes, row.rss_bytes / 1024);
    out += line;
  }
  return out;
}

}  // namespace actorproc
