#pragma once
// actor_handle: the node's reference to one actor process.
//
// A handle is a cheap, copyable reference, like an Erlang pid: copies refer to
// the same actor, and dropping every handle does not stop the actor (the node
// owns the process and stops it when the node is destroyed). All operations are
// thread-safe and none of them hangs:
// - send() waits only while the actor's mailbox is full, up to its timeout, then
//   fails with mailbox_full. Messages from one thread arrive in order. Sends
//   in a burst (each within 50 us of the last) share one batch envelope,
//   written before anything else goes to that actor, at 16 KiB, or 50 us
//   later by the reactor; a send after a pause is written at once. A fill
//   runs under no lock (in a burst it builds in the thread's scratch,
//   wire/payload_scratch.hpp): it may send, even to the same actor.
// - request() blocks; its answer is read by the waiting thread itself when no
//   other thread reads that actor's socket (one thread hop fewer).
// - request() answers with the reply, or with an error: timeout, actor_down
//   (with the exit reason, as soon as the actor dies, not at the timeout),
//   type_mismatch, unhandled_message, handler_exception, no_reply.
// - stop() asks the actor to finish; if it is still running, the node sends
//   SIGTERM at grace/2 and SIGKILL at `grace` (stop_ladder.hpp), so the actor
//   is gone `grace` after the stop, as with OTP's shutdown timeout. join()
//   waits for the exit and returns its reason.
//
// Exits reach the host one way: the reactor sees the process exit, reaps it and
// sends one CAF message to the process's proxy actor, which exits with the
// process's exit reason. monitor() and join() are built on that proxy, as are
// supervisors and pools (node/caf_interop.hpp).
//
// WARNING: monitor callbacks run on a thread of the node's CAF scheduler; keep
// them short and never block in them (send a message to an actor instead).

#include <actorproc/actor/actor_ref.hpp>
#include <actorproc/base/defaults.hpp>
#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/message.hpp>
#include <actorproc/wire/payload_scratch.hpp>

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actorproc {

namespace detail {
struct link;
}  // namespace detail

/// Counters of one actor, as seen by the node.
struct actor_stats {
  uint64_t messages_in = 0;       // frames the node wrote to it
  uint64_t messages_out = 0;      // frames the node read from it
  std::size_t mailbox_bytes = 0;  // bytes waiting in its node-side mailbox
};

class actor_handle {
 public:
  actor_handle() = default;
  explicit actor_handle(std::shared_ptr<detail::link> link) : link_(std::move(link)) {}

  bool valid() const { return link_ != nullptr; }
  uint64_t id() const;
  actor_ref ref() const { return {id()}; }
  const std::string& name() const;
  pid_t pid() const;

  template <class M, class Fill = no_fields>
  expected<void> send(Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout) const {
    if (bursting()) {
      // It will most likely join a batch, which needs its payload only.
      wire::payload_lease lease;
      fill(lease.init<M>());
      return post(lease.get(), timeout);
    }
    wire::envelope_builder out;
    out.address(id(), 0, 0);
    fill(out.init_user<M>());
    return post(out, timeout);
  }

  /// send(), handing the actor descriptors with the message (a pipe end, a
  /// file...): the actor takes them with context::take_received_fds().
  template <class M, class Fill = no_fields>
  expected<void> send_with_fds(std::vector<unique_fd> fds, Fill&& fill = {},
                               std::chrono::milliseconds timeout = default_timeout) const {
    wire::envelope_builder out;
    out.address(id(), 0, 0);
    out.envelope().setFdCount(static_cast<uint8_t>(std::min<std::size_t>(fds.size(), 255)));
    fill(out.init_user<M>());
    return post_with_fds(out, timeout, std::move(fds));
  }

  template <class M, class R, class Fill = no_fields>
  expected<message<R>> request(Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout) const {
    return request_with_fds<M, R>({}, std::forward<Fill>(fill), timeout);
  }

  /// request(), handing the actor descriptors with the message (a
  /// shared_buffer's: wire/shared_buffer.hpp). A reply may carry descriptors
  /// too: message<R>::take_fds(). At most
  /// wire::frame_decoder::max_fds_per_frame (else invalid_argument), here and
  /// in send_with_fds().
  template <class M, class R, class Fill = no_fields>
  expected<message<R>> request_with_fds(std::vector<unique_fd> fds, Fill&& fill = {},
                                        std::chrono::milliseconds timeout = default_timeout) const {
    wire::envelope_builder out;
    out.envelope().setFdCount(static_cast<uint8_t>(std::min<std::size_t>(fds.size(), 255)));
    fill(out.init_user<M>());
    auto answer = call(out, timeout, std::move(fds));
    if (!answer) return answer.error();
    return message<R>::from(std::move(*answer));
  }

  /// request() without waiting: `then` is called exactly once with the answer
  /// or the error (actor_down as soon as the actor dies, mailbox_full at once
  /// if its mailbox is full: this never blocks). There is no timeout: the
  /// caller decides when to stop caring. `then` runs on the node's reactor
  /// thread (or on this thread when the request fails at once): keep it short
  /// and never block in it.
  template <class M, class R, class Fill = no_fields>
  void request_async(Fill&& fill, std::function<void(expected<message<R>>)> then) const {
    wire::envelope_builder out;
    fill(out.init_user<M>());
    call_async(out, [then = std::move(then)](expected<wire::frame_ptr> answer) {
      if (!answer) return then(answer.error());
      then(message<R>::from(std::move(*answer)));
    });
  }

  /// Graceful stop with reason normal: the stop message, SIGTERM at grace/2, SIGKILL at `grace`.
  void stop(std::chrono::milliseconds grace = default_timeout) const;
  /// The same ladder, with the reason the actor should report (e.g. shutdown).
  void stop(exit_reason reason, std::chrono::milliseconds grace) const;
  /// Sends a signal through the pidfd; false once the actor has exited.
  bool signal(int signo) const;
  bool kill() const;       // SIGKILL
  bool terminate() const;  // SIGTERM

  bool alive() const;
  /// The exit reason once the actor has exited and been reaped.
  std::optional<exit_reason> exit() const;
  /// Waits for the exit, up to `timeout`; fails with timeout.
  expected<exit_reason> join(std::chrono::milliseconds timeout = default_timeout) const;

  /// Calls `on_down` once when the actor exits (at once if it already has).
  void monitor(std::function<void(actor_ref, const exit_reason&)> on_down) const;

  actor_stats stats() const;

  friend bool operator==(const actor_handle& a, const actor_handle& b) { return a.link_ == b.link_; }

  // For handles that follow an actor across restarts (named_actor), which must
  // never hand a message to an incarnation whose death the node has already
  // seen: each sends nothing then and answers std::nullopt, so the caller can
  // apply its restarting policy instead.

  /// Sends an envelope built elsewhere, already addressed to this actor.
  std::optional<expected<void>> post_unless_dying(capnp::MessageBuilder& message,
                                                  std::chrono::milliseconds timeout) const;
  /// A request, addressed here, unless the actor is dying.
  std::optional<expected<wire::frame_ptr>> call_unless_dying(wire::envelope_builder& out,
                                                             std::chrono::milliseconds timeout) const;
  /// Whether the node has seen it die (its exit may not be final yet).
  bool dying() const;

 private:
  /// Whether sends to it are being batched now (wire/payload_scratch.hpp).
  bool bursting() const;
  expected<void> post(wire::envelope_builder& out, std::chrono::milliseconds timeout) const;
  expected<void> post(schema::Payload::Reader message, std::chrono::milliseconds timeout) const;
  expected<void> post_with_fds(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                               std::vector<unique_fd> fds) const;
  expected<wire::frame_ptr> call(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                 std::vector<unique_fd> fds = {}) const;
  void call_async(wire::envelope_builder& out, std::function<void(expected<wire::frame_ptr>)> then) const;

  std::shared_ptr<detail::link> link_;
};

}  // namespace actorproc
