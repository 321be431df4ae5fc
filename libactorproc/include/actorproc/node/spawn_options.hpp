#pragma once

#include <actorproc/base/unique_fd.hpp>
#include <actorproc/process/launch.hpp>
#include <actorproc/wire/limits.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace actorproc {

/// Liveness checking of one actor: the node sends a heartbeat every `interval`
/// and kills the actor with reason `hung` if one is not answered within
/// `timeout`. That catches a frozen (SIGSTOPped) process and a handler stuck in
/// a loop. A worker answers between two handlers, so `timeout` must exceed the
/// longest handler plus the time to work through a full mailbox.
struct heartbeat_options {
  std::chrono::milliseconds interval{0};  // 0: no heartbeats
  std::chrono::milliseconds timeout{0};   // 0: three intervals
};

struct spawn_options {
  /// A name for logs and introspection; default "<type>#<id>".
  std::string name = {};
  /// Handed to the actor (context::args()).
  std::vector<std::string> args = {};
  start_method method = start_method::zygote;
  /// exec only: the binary to run instead of this program.
  std::string program = {};
  /// Descriptors the child inherits (context::inherited_fds()); ownership passes to the child.
  std::vector<unique_fd> fds = {};
  heartbeat_options heartbeat = {};
};

struct node_options {
  /// What every frame read from a worker is checked against.
  wire::limits limits;
  /// Bound of each actor's mailbox on the node side: bytes waiting to be written
  /// to its socket. A send beyond it waits, then fails with mailbox_full.
  std::size_t mailbox_bytes = std::size_t{1} << 20;
  /// A spawn fails with launch_failed if the actor is not ready within this time.
  std::chrono::milliseconds start_timeout{10000};
  /// When the node is destroyed: how long each actor's stop may take, SIGTERM
  /// at half of it and SIGKILL at its end (stop_ladder.hpp).
  std::chrono::milliseconds shutdown_grace{2000};
  /// CAF scheduler threads for the node's own actors (proxies, supervisors).
  std::size_t scheduler_threads = 2;
  /// Where the node reports what goes wrong (protocol errors name the actor).
  /// Default: one line on stderr.
  std::function<void(const std::string&)> log;
  /// The node forks its zygote when it is constructed, and forking a process
  /// that has other threads copies every lock they hold, held forever: a
  /// worker that needs one (malloc's, stdio's, a library's) deadlocks
  /// silently. So by default the constructor refuses (std::logic_error) when
  /// this process has other threads. Set this only if they cannot hold a lock
  /// a worker needs: the node then logs a warning and goes on.
  bool allow_other_threads = false;
};

}  // namespace actorproc
