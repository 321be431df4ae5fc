#pragma once
// reactor: the node's one I/O thread. Internal.
//
// epoll over every actor's mailbox socket and pidfd. It reads and validates every
// frame a worker sends, routes frames between actors (parking the sender while
// the destination's mailbox is full: backpressure, not buffering), completes the
// node's requests, and reaps children the moment their pidfd fires.
//
// It records the first sign of an actor's death (link::death_seen: the end of
// its stream, its exit announcement, its reaping, a kill it imposed; a sender's
// write that finds the mailbox closed records it too) at once,
// so that named handles stop using a dead incarnation before any supervisor
// has heard of it.
//
// A frame that fails validation closes that actor's link and kills it with
// reason protocol_error; the error is logged with the actor's name. Nothing a
// worker sends can make the reactor throw.

#include "link.hpp"

#include <actorproc/wire/envelope.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace actorproc::detail {

// epoll data: the actor id shifted left, the low bit set for its pidfd. Id 0 is the wake eventfd.
inline uint64_t socket_key(uint64_t id) { return id << 1; }
inline uint64_t pidfd_key(uint64_t id) { return (id << 1) | 1; }

class reactor {
 public:
  struct hooks {
    /// Called on the reactor thread after `l` exited and was reaped.
    std::function<void(link& l)> exited;
    std::function<void(const std::string&)> log;
  };

  reactor(wire::limits limits, hooks h);
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  /// Starts watching a freshly launched child.
  void add(std::shared_ptr<link> l);
  /// Watches `l`'s socket for writability (caller holds l.mutex).
  void update_events_locked(link& l);

  /// A host thread stopped reading `l` (link_reading.cpp) and left work for
  /// the reactor: frames, a deferred exit. Any thread.
  void hand_back(link& l);
  /// A host thread left a batch of sends in `l` (link_batching.cpp): written
  /// on the reactor's next turn. Any thread.
  void flush_soon(link& l);

  std::shared_ptr<link> find(uint64_t id) const;
  /// How a recently exited actor ended (nullopt if unknown or long gone).
  std::optional<exit_reason> exit_reason_of(uint64_t id) const;
  std::vector<std::shared_ptr<link>> all() const;
  std::size_t size() const;
  /// Waits until no actor is left; false on timeout.
  bool wait_until_empty(std::chrono::steady_clock::time_point deadline);

 private:
  void run();
  void on_socket_event(link& l, uint32_t events);
  void on_exit(const std::shared_ptr<link>& l);
  // What host threads left for the reactor: links to read again, batches to write.
  void serve_host_threads();
  // Reads again a link a host thread handed back.
  void take_back(const std::shared_ptr<link>& l);
  // Writes the batches whose linger has passed; how long until the next is due.
  std::optional<std::chrono::nanoseconds> flush_lingering();
  // Wakes the reactor once for `id`, put in `queue`.
  void wake_for(std::vector<uint64_t>& queue, uint64_t id);
  // Reads what the socket has and routes every complete frame; true when the
  // read brought bytes, so that more may follow.
  bool read_and_route(link& l);
  void route_buffered(link& l);
  // Routes one frame from `from`; false when `from` had to be parked or failed.
  // `fds`: the frame's descriptors if already claimed (a parked frame), else
  // nullopt: they are claimed from the sender's decoder.
  bool route(link& from, kj::ArrayPtr<const capnp::word> frame, std::optional<std::vector<unique_fd>> fds);
  bool route_validated(link& from, kj::ArrayPtr<const capnp::word> frame, std::optional<std::vector<unique_fd>> fds);
  void to_node(link& from, schema::Envelope::Reader env, kj::ArrayPtr<const capnp::word> frame,
               std::vector<unique_fd> fds);
  void park(link& from, link& to, kj::ArrayPtr<const capnp::word> frame, std::vector<unique_fd> fds);
  void wake_parked(link& l);
  void resume(link& l);
  void answer_failure(link& to, uint64_t from, uint64_t correlation, errc code, const std::string& message,
                      const std::optional<exit_reason>& reason = std::nullopt);
  void protocol_failure(link& l, const std::string& what);
  void stop_reading(link& l);
  // Sends due heartbeats and kills actors whose answer is late; returns the
  // epoll timeout until the next heartbeat event (-1: none).
  int check_heartbeats();
  // Writes out what routing appended to each destination during this turn.
  void flush_routed();

  wire::limits limits_;
  hooks hooks_;
  unique_fd epoll_;
  unique_fd wake_;  // eventfd: tells the thread to stop
  mutable std::mutex links_mutex_;
  std::condition_variable links_changed_;
  std::unordered_map<uint64_t, std::shared_ptr<link>> links_;
  // The exit reasons of the most recent dead actors, so that a message to one
  // fails with actor_down and its reason rather than unknown_actor. Bounded.
  std::unordered_map<uint64_t, exit_reason> graveyard_;
  std::deque<uint64_t> graveyard_order_;
  std::vector<uint64_t> heartbeat_links_;     // actors with heartbeats on
  uint64_t heartbeat_sequence_ = 0;           // reactor thread only
  std::vector<std::shared_ptr<link>> dirty_;  // destinations with routed frames not yet written
  std::mutex host_work_mutex_;
  std::vector<uint64_t> handed_back_;  // links host threads stopped reading
  std::vector<uint64_t> to_flush_;     // links with a batch of host sends to write
  // Reactor thread only: those batches, each with the time it is due.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<link>>> lingering_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace actorproc::detail
