#pragma once
// link: everything the node knows about one actor process. Internal.
//
// Two kinds of state live here:
// - reactor-owned (the decoder, the parked frame): touched only by the reactor
//   thread, so unlocked. The decoder has one exception: a host thread blocked
//   in a request may read the link itself (link_reading.cpp), and holds the
//   decoder then, handed over under `mutex` (host_reading / reactor_reading);
// - shared (the output buffer, pending requests, the exit reason): under `mutex`,
//   touched by any thread that sends and by the reactor.
// Lock order: a thread holds at most one link's mutex at a time.

#include <actorproc/base/expected.hpp>
#include <actorproc/wire/batch_builder.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/node/actor_handle.hpp>
#include <actorproc/node/spawn_options.hpp>
#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/frame_writer.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

namespace actorproc::detail {

/// One request waiting for its answer; completed exactly once, by whoever comes first.
/// A blocking request waits on `done`; an asynchronous one has `then`, called
/// instead (on the reactor thread, outside every lock).
struct pending_request {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<expected<wire::frame_ptr>> result;
  std::function<void(expected<wire::frame_ptr>)> then;
  bool completed = false;

  void complete(expected<wire::frame_ptr> value) {
    std::function<void(expected<wire::frame_ptr>)> callback;
    {
      std::lock_guard lock(mutex);
      if (completed) return;
      completed = true;
      if (then) {
        callback = std::move(then);
      } else {
        result.emplace(std::move(value));
      }
    }
    if (callback) {
      callback(std::move(value));
      return;
    }
    done.notify_all();
  }
};

/// What a link asks of the node it belongs to.
class link_owner {
 public:
  virtual ~link_owner() = default;
  /// What epoll must watch on `l`'s socket changed (unwritten output; input
  /// taken by a host thread or given back). Caller holds l.mutex.
  virtual void watch_changed(link& l) = 0;
  /// Begin the stop ladder of `l`.
  virtual void stop(link& l, exit_reason reason, std::chrono::milliseconds grace) = 0;
  /// `l` holds a batch of host sends (link_batching.cpp): the reactor writes
  /// it on its next turn. Any thread, without l.mutex.
  virtual void flush_soon(link& l) = 0;
  /// Calls `on_down` once `l` has exited (at once if it has): on the node's one
  /// exit path, the CAF proxy of the process.
  virtual void monitor(link& l, std::function<void(actor_ref, const exit_reason&)> on_down) = 0;
  /// Waits up to `timeout` for `l`'s exit, on the same path.
  virtual expected<exit_reason> join(link& l, std::chrono::milliseconds timeout) = 0;
  /// A host thread stopped reading `l` with work left for the reactor (frames
  /// it does not handle, a deferred exit): the reactor reads `l` again soon.
  virtual void hand_back(link& l) = 0;
};

enum class link_state { starting, running, exited };

/// How link::enqueue treats a message.
enum class delivery {
  /// A user message: waits for room in the mailbox, up to its timeout.
  user,
  /// Never refused, and in order with user messages: answers, peer
  /// introductions (their descriptors follow the frames' order), and down
  /// notices (as in OTP, a DOWN never overtakes the dead actor's own messages).
  in_order,
  /// Never refused, and written ahead of every frame not yet started: stop
  /// and heartbeat, which must not wait behind a full mailbox.
  ahead,
};

/// What a send does once the node has seen its actor die (a write refused
/// because its end is closed, the end of its mailbox stream, its exit
/// announcement, its pidfd, or a kill the node imposed) but before the exit is
/// final.
enum class if_dying : uint8_t {
  /// Write it anyway: it is lost with the process, as a message to a dead
  /// process is in Erlang (a plain actor_handle).
  deliver,
  /// Send nothing and fail with actor_down at once, so that the caller still
  /// holds it (a named handle keeps it for the next incarnation).
  refuse,
};

/// How long a batch of host sends may wait for more before the reactor writes
/// it (link_batching.cpp): the most a message of a burst is delayed.
inline constexpr std::chrono::microseconds batch_linger{50};

struct link {
  link(uint64_t id, std::string name, pid_t pid, unique_fd socket, unique_fd pidfd, link_owner& owner,
       std::size_t mailbox_bytes, const wire::limits& limits)
      : id(id),
        name(std::move(name)),
        pid(pid),
        socket(std::move(socket)),
        owner(owner),
        mailbox_bytes(mailbox_bytes),
        max_frame_bytes(limits.max_frame_bytes),
        limits(limits),
        in(limits),
        pidfd(std::move(pidfd)) {}

  const uint64_t id;
  const std::string name;
  const pid_t pid;
  unique_fd socket;
  link_owner& owner;
  const std::size_t mailbox_bytes;
  const std::size_t max_frame_bytes;  // the worker refuses larger frames (and would stop)
  const wire::limits limits;          // what it may send

  // ---- reactor-owned (the decoder: whoever reads, see link_reading.cpp)
  wire::frame_decoder in;
  wire::frame_ptr parked;         // a frame routed to a full mailbox, waiting for room
  uint64_t parked_on = 0;         // ... of this actor
  std::vector<uint64_t> blocked;  // actors whose frames are parked on this one
  // Requests from other workers routed to this actor and not yet answered:
  // (requester, correlation). If it dies, each fails at once with actor_down.
  std::set<std::pair<uint64_t, uint64_t>> inflight;
  std::optional<exit_reason> reaped;                    // the kernel's status, once reaped
  bool socket_open = true;                              // still in epoll (false after end of stream)
  bool dirty = false;                                   // in the reactor's list of destinations to flush
  heartbeat_options heartbeat;                          // interval 0: none
  uint64_t heartbeat_outstanding = 0;                   // the unanswered heartbeat, 0 if none
  std::chrono::steady_clock::time_point heartbeat_due;  // next send, or the answer's deadline

  // ---- shared, under mutex
  mutable std::mutex mutex;
  std::condition_variable changed;  // room in `out`, readiness, exit
  unique_fd pidfd;                  // closed once reaped: never signals a reused pid
  wire::frame_writer out;
  // Consecutive host sends, framed into `out` before anything else is
  // appended to it or flushed (link_batching.cpp), so order is kept.
  wire::batch_builder batch;
  // The reactor will write the batch: written under mutex, read without it
  // by senders as the hint that a burst is on (actor_handle::send builds its
  // message for the batch then; see bursting()).
  std::atomic<bool> flush_scheduled{false};
  std::chrono::steady_clock::time_point batch_due;  // when the open batch must leave
  std::chrono::steady_clock::time_point last_send;  // of the last host send that read the clock
  bool write_watched = false;
  bool paused = false;  // reading stopped while a parked frame waits
  link_state state = link_state::starting;
  bool was_ready = false;                  // it reported ready (and may have exited since)
  // The node saw it die: it reads nothing more. Set at the first sign (see
  // if_dying), before the exit is final and long before any supervisor hears.
  bool death_seen = false;
  std::optional<exit_reason> announced;    // what the worker said before exiting
  std::optional<exit_reason> imposed;      // what the node decided (protocol error, hung)
  std::optional<exit_reason> stop_reason;  // what a stop request asked for
  std::optional<exit_reason> final_reason;
  std::unordered_map<uint64_t, std::shared_ptr<pending_request>> pending;
  std::vector<uint64_t> watchers;  // actors that asked (system monitor) to hear of this exit
  // Who reads the socket (and so owns `in`): the reactor while reactor_reading,
  // a host thread waiting for its answer while host_reading (the reactor's
  // epoll then does not watch it for input), nobody otherwise.
  bool reactor_reading = false;
  bool host_reading = false;
  // The reactor saw the process exit while a host thread read: it finishes the
  // exit once the host thread hands the link back (its answer is read first).
  bool exit_deferred = false;
  // A read by a host thread failed as a protocol error: the reactor acts on it.
  std::optional<std::string> read_failure;

  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> messages_out{0};

  /// Appends a message and writes what the socket takes now. A user message
  /// waits up to `timeout` for room; the others are never refused.
  expected<void> enqueue(capnp::MessageBuilder& message, std::chrono::milliseconds timeout, delivery how,
                         std::vector<unique_fd> fds = {}, if_dying dying = if_dying::deliver);
  /// Appends an already-framed message (routing between actors) without
  /// writing it: the reactor flushes each destination once per batch of routed
  /// frames. Never waits; the caller checked has_room_locked() under the lock.
  /// `messages`: how many it carries (a batch carries several); `fds`: the
  /// descriptors that came with it, passed on with it.
  void append_locked(kj::ArrayPtr<const capnp::word> frame, std::size_t messages, std::vector<unique_fd> fds = {});
  /// While the socket is full (write_watched) the open batch counts with the
  /// free slots its frame will carry, so that it passes the bound by one
  /// message at most; otherwise `out` is empty and only what it holds counts.
  bool has_room_locked() const {
    return out.size() + (write_watched ? batch.reserved_bytes() : batch.size_bytes()) < mailbox_bytes;
  }
  /// Frames the open batch of host sends into `out`, and flushes under the
  /// lock; registers for writability when the socket is full.
  void flush_locked();
  /// A one-way user message from a host thread, addressed here: written at
  /// once when it follows no recent send, else batched with the sends around
  /// it (link_batching.cpp). Waits for room like enqueue().
  expected<void> send(wire::envelope_builder& message, std::chrono::milliseconds timeout);
  /// send(), for a message built in the thread's payload_scratch.
  expected<void> send(schema::Payload::Reader message, std::chrono::milliseconds timeout);
  /// Whether host sends to this actor are being batched now (a hint, read
  /// without the lock).
  bool bursting() const { return flush_scheduled.load(std::memory_order_relaxed); }
  /// For the reactor, once the linger of the batch flush_soon() announced has
  /// passed: writes the open batch if it is due by `now`; otherwise (the
  /// sender wrote that batch itself and opened another) the time it is due.
  std::optional<std::chrono::steady_clock::time_point> flush_batch(std::chrono::steady_clock::time_point now);

  /// Sends a request and waits for its answer.
  expected<wire::frame_ptr> call(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                 std::vector<unique_fd> fds = {});
  /// call(), unless the actor's death has been seen: then nothing is sent and
  /// the answer is std::nullopt. An actor_down inside the answer means it died
  /// after the request was handed to it (it may have run).
  std::optional<expected<wire::frame_ptr>> call_unless_dying(wire::envelope_builder& out,
                                                             std::chrono::milliseconds timeout);
  /// Sends a request without waiting: `then` gets the answer or the error
  /// exactly once (see actor_handle::request_async).
  void call_async(wire::envelope_builder& out, std::function<void(expected<wire::frame_ptr>)> then);

  /// Under `mutex`: input may be watched by epoll (nobody else reads it).
  bool input_watched_locked() const { return !paused && !host_reading; }

  /// For the reactor: takes the socket to read it; false while a host thread
  /// reads it (it hands the link back when it stops).
  bool begin_reactor_read();
  void end_reactor_read();
  /// For the reactor: an answer to one of the node's requests came from this
  /// actor (a response or failure addressed to the node). Completes it.
  void answer_arrived(schema::Envelope::Reader env, kj::ArrayPtr<const capnp::word> frame,
                      std::vector<unique_fd> fds = {});

  bool signal(int signo);
  std::optional<exit_reason> exit_reason_now() const;
  /// Whether its death has been seen (or its exit is final).
  bool dying() const;

 private:
  /// The small one-way `message` joins the open batch, opens one if a burst
  /// is on, or is written at once (from `built`, its envelope, if there is one).
  expected<void> batch_or_write(schema::Payload::Reader message, wire::envelope_builder* built,
                                std::chrono::milliseconds timeout);
  /// Under the lock: how many bytes of slots a new batch's list may take.
  std::size_t slot_room_locked() const;
  /// Under the lock: waits up to `timeout` for room for a user message;
  /// mailbox_full if none came, actor_down if `dying` refuses to send.
  expected<void> await_room_locked(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout,
                                   if_dying dying);
  /// Addresses `builder` as a new request, registers `request` for its answer
  /// and sends it; on failure nothing stays registered. The correlation id.
  expected<uint64_t> start_request(wire::envelope_builder& builder, const std::shared_ptr<pending_request>& request,
                                   std::chrono::milliseconds timeout, if_dying dying, std::vector<unique_fd> fds = {});
  /// While nobody else reads the socket, reads it on this thread until
  /// `request` is answered, `deadline` passes, or a frame comes that only the
  /// reactor handles (link_reading.cpp): the answer then costs no thread hop.
  void read_own_answer(pending_request& request, std::chrono::steady_clock::time_point deadline);
  /// One frame read by a host thread: completes the blocking request it
  /// answers and returns true; false (nothing consumed) if it is anything else.
  bool take_answer(kj::ArrayPtr<const capnp::word> frame);
  /// Waits for the answer to a started request, up to `deadline`.
  expected<wire::frame_ptr> await_answer(const std::shared_ptr<pending_request>& request, uint64_t correlation,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::chrono::milliseconds timeout);
};

/// Gives `a` and `b` a direct socketpair: each gets its end with a `peer`
/// introduction, in order with the rest of its mailbox (node::connect,
/// context::connect). `actors` alive, for the error when no descriptor is left.
expected<void> connect_links(link& a, link& b, std::size_t actors);

}  // namespace actorproc::detail
