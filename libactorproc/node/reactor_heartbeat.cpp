// Heartbeats: the reactor pings actors that asked for it and kills those
// whose answer is late (reason hung). See heartbeat_options.
#include "reactor.hpp"

#include <actorproc/process/pidfd.hpp>

#include <signal.h>

namespace actorproc::detail {

int reactor::check_heartbeats() {
  std::vector<std::shared_ptr<link>> watched;
  {
    std::lock_guard lock(links_mutex_);
    std::erase_if(heartbeat_links_, [&](uint64_t id) { return !links_.count(id); });
    for (uint64_t id : heartbeat_links_) watched.push_back(links_[id]);
  }
  auto now = std::chrono::steady_clock::now();
  auto next = std::chrono::steady_clock::time_point::max();
  for (auto& l : watched) {
    if (l->heartbeat_due <= now) {
      if (l->heartbeat_outstanding != 0) {
        hooks_.log("actor '" + l->name + "' (id " + std::to_string(l->id) + ") did not answer a heartbeat within " +
                   std::to_string(l->heartbeat.timeout.count()) + " ms; killed as hung");
        std::lock_guard lock(l->mutex);
        if (!l->imposed) {
          l->imposed =
              exit_reason::because(exit_reason::kind::hung, "no heartbeat answer within " +
                                                                std::to_string(l->heartbeat.timeout.count()) + " ms");
        }
        l->death_seen = true;
        if (l->pidfd) process::signal_process(l->pidfd.get(), SIGKILL);
        l->heartbeat_due = std::chrono::steady_clock::time_point::max();  // its pidfd takes over
        continue;
      }
      l->heartbeat_outstanding = ++heartbeat_sequence_;
      l->heartbeat_due = now + l->heartbeat.timeout;
      wire::envelope_builder out;
      out.address(l->id, 0, 0);
      out.envelope().initSystem().setHeartbeat(l->heartbeat_outstanding);
      (void)l->enqueue(out.message(), {}, delivery::ahead);
    }
    next = std::min(next, l->heartbeat_due);
  }
  if (next == std::chrono::steady_clock::time_point::max()) return -1;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
  return static_cast<int>(std::clamp<long long>(wait, 0, 60000));
}

}  // namespace actorproc::detail
