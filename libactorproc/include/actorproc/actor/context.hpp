#pragma once
// context: what a handler can do, inside a worker process.
//
// A worker is one actor in its own process, running a single-threaded loop: it
// reads envelopes from its mailbox socket and calls the actor's handler for each
// message type, one at a time. The context passed to a handler sends messages,
// makes requests, replies to the request being handled, and stops the actor.
//
//   struct counter {
//     using handles = actorproc::handles<Add, Get>;
//     int64_t total = 0;
//     void on(Add::Reader m) { total += m.getBy(); }
//     void on(Get::Reader, actorproc::context& ctx) {
//       ctx.reply<Count>([&](Count::Builder r) { r.setValue(total); });
//     }
//   };
//
// Semantics:
// - send() is asynchronous and ordered per destination. It blocks only while the
//   worker's own output buffer is full (bounded), up to the send timeout, then
//   fails with mailbox_full. Consecutive sends to one actor share one batch
//   envelope, which leaves when the actor next waits (its handler returns or
//   it makes a request) or once it holds 16 KiB.
// - request() blocks this actor until the answer comes or the timeout passes.
//   Other messages that arrive meanwhile are kept (bounded) and handled after
//   the current handler returns, in arrival order. WARNING: two actors that
//   request each other synchronously deadlock until one request times out.
// - A request whose handler returns without reply() is answered with `no_reply`.
// - An exception escaping a handler answers the current request with
//   `handler_exception`, then the actor exits with reason `exception` ("let it
//   crash": its supervisor decides what happens next).
// - watch_fd() lets an actor that owns descriptors of its own (a port's pipes,
//   a pidfd) wait on them in the same loop: its callback runs between handlers,
//   like a timer, never inside one.

#include <actorproc/actor/actor_ref.hpp>
#include <actorproc/base/defaults.hpp>
#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/wire/batch_builder.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/message.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace actorproc {

class context;
namespace detail {
int mailbox_fd(const context& ctx);
}

/// A request whose answer comes after its handler has returned (context::defer).
struct deferred_reply {
  uint64_t to = 0;
  uint64_t correlation = 0;
  uint64_t channel = 0;  // the direct channel it came by; 0: the mailbox
};

class context {
 public:
  virtual ~context() = default;

  uint64_t id() const { return id_; }
  actor_ref self() const { return {id_}; }
  const std::string& name() const { return name_; }
  /// Arguments given at spawn.
  const std::vector<std::string>& args() const { return args_; }
  /// Descriptors given at spawn (spawn_options::fds), in order.
  std::vector<unique_fd>& inherited_fds() { return inherited_fds_; }
  /// Who sent the message being handled (id 0: the node).
  actor_ref sender() const { return {current_sender_}; }
  /// Descriptors that came with the message being handled (send_with_fds,
  /// request_with_fds, from the host or an actor: a shared_buffer's, say);
  /// unclaimed ones are closed after the handler.
  std::vector<unique_fd> take_received_fds() { return std::move(current_fds_); }
  /// True while handling a request (a reply is expected).
  bool is_request() const { return current_correlation_ != 0; }

  /// Consecutive sends to one destination are built into one batch envelope
  /// (wire/batch_builder.hpp), which leaves when the actor next waits, or once
  /// it is full. `fill` only fills the message: it must not send, request or
  /// reply on the same channel (that throws std::logic_error: the message it
  /// fills is still part of the open batch). A message too large for a frame
  /// (wire::limits::max_frame_bytes, less a batch's 16 KiB) is not sent: too_large.
  template <class M, class Fill = no_fields>
  expected<void> send(actor_ref to, Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout) {
    auto opened = open_batch(to, timeout);
    if (!opened) return opened.error();
    wire::batch_builder& batch = **opened;
    auto index = static_cast<unsigned>(batch.count());
    auto* outer = std::exchange(filling_, &batch);
    try {
      fill(batch.template add<M>());
    } catch (...) {
      filling_ = outer;
      // Nothing half-filled is ever sent. Inside another send's fill to this
      // batch, that message's builder must stay valid: drop in place.
      batch.drop(index, outer != &batch);
      throw;
    }
    filling_ = outer;
    return added_to_batch(batch, index, filling_ == &batch);
  }

  /// The last one-way message this actor sent to `to`, if it is an M that has
  /// not left yet and that nothing sent to `to` has followed (the last of the
  /// open batch): changing it is as good as having sent it so, in the same
  /// place in the order of everything this actor sends. So a sender coalesces
  /// a run of small notices into one (a queue client's task_done() counts).
  /// nullopt otherwise: it has left (the actor waited, or the batch filled),
  /// another message followed it, a routed one waits for this actor's direct
  /// channels to drain first (causal order), or a fill function is running.
  template <class M>
  std::optional<typename M::Builder> unsent_last(actor_ref to) {
    wire::batch_builder* batch = filling_ == nullptr ? unsent_batch(to) : nullptr;
    if (batch == nullptr) return std::nullopt;
    return batch->template last<M>();
  }

  template <class M, class R, class Fill = no_fields>
  expected<message<R>> request(actor_ref to, Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout) {
    return request_with_fds<M, R>(to, {}, std::forward<Fill>(fill), timeout);
  }

  /// Descriptors travel with a message (a shared_buffer's, a pipe end...),
  /// routed or on a direct channel; the receiver takes them with
  /// take_received_fds() (or, from a reply, message<R>::take_fds()). At most
  /// wire::frame_decoder::max_fds_per_frame per message (else
  /// invalid_argument). Such a send is never batched: it closes the open batch
  /// to that channel, so order is kept.
  template <class M, class Fill = no_fields>
  expected<void> send_with_fds(actor_ref to, std::vector<unique_fd> fds, Fill&& fill = {},
                               std::chrono::milliseconds timeout = default_timeout) {
    wire::envelope_builder out;
    out.envelope().setFdCount(static_cast<uint8_t>(std::min<std::size_t>(fds.size(), 255)));
    fill(out.init_user<M>());
    return post(to, out, std::move(fds), timeout);
  }
  template <class M, class R, class Fill = no_fields>
  expected<message<R>> request_with_fds(actor_ref to, std::vector<unique_fd> fds, Fill&& fill = {},
                                        std::chrono::milliseconds timeout = default_timeout) {
    wire::envelope_builder out;
    out.envelope().setFdCount(static_cast<uint8_t>(std::min<std::size_t>(fds.size(), 255)));
    fill(out.init_user<M>());
    auto answer = call(to, out, timeout, std::move(fds));
    if (!answer) return answer.error();
    return message<R>::from(std::move(*answer));
  }

  /// Answers the request being handled. A second reply, or a reply to a
  /// one-way message, is ignored.
  template <class R, class Fill = no_fields>
  void reply(Fill&& fill = {}) {
    reply_with_fds<R>({}, std::forward<Fill>(fill));
  }
  /// reply() with descriptors (to the host: message<R>::take_fds()). Too many
  /// descriptors answer the request with invalid_argument instead.
  template <class R, class Fill = no_fields>
  void reply_with_fds(std::vector<unique_fd> fds, Fill&& fill = {}) {
    wire::envelope_builder out;
    out.envelope().setFdCount(static_cast<uint8_t>(std::min<std::size_t>(fds.size(), 255)));
    fill(out.init_response<R>());
    respond(out, std::move(fds));
  }

  /// Takes the request being handled out of the handler: it is answered later,
  /// with reply_to() or fail(), from another handler or a timer. The requester
  /// keeps waiting (up to its own timeout).
  deferred_reply defer() {
    replied_ = true;
    return {current_sender_, current_correlation_, current_channel_};
  }
  /// `expected_words`, if known, is about the size of the answer: a large one
  /// is then built in one piece, which its receiver reads faster.
  template <class R, class Fill = no_fields>
  void reply_to(const deferred_reply& pending, Fill&& fill = {}, std::size_t expected_words = 0) {
    wire::envelope_builder out;
    if (expected_words != 0) out.expect_words(expected_words);
    fill(out.init_response<R>());
    out.address(pending.to, id_, pending.correlation);
    answer(pending, out);
  }
  /// Answers a deferred request with an error.
  void fail(const deferred_reply& pending, errc code, const std::string& message) {
    wire::envelope_builder out;
    out.address(pending.to, id_, pending.correlation);
    out.init_failure(code, message);
    answer(pending, out);
  }

  /// Runs `fn` on this actor's thread once `delay` has passed, between two
  /// handlers. Due timers and waiting messages take turns, so a timer that
  /// re-arms itself at once never starves messages. Returns an id for cancel().
  virtual uint64_t after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  /// Cancels a timer that has not fired (no effect otherwise).
  virtual void cancel(uint64_t timer) = 0;

  /// Exits with reason normal once the current handler returns.
  virtual void stop() = 0;
  /// Exits with `reason` once the current handler returns: an actor that stands
  /// for something else (a port for its command) exits with that thing's outcome.
  virtual void stop(const exit_reason& reason) = 0;
  /// Asks the node to tell this actor (the actor's on_down) when `who` exits.
  virtual void monitor(actor_ref who) = 0;

  /// Asks the node for a direct channel to `peer`, as node::connect does from
  /// the host: once it returns, this actor's sends and requests to `peer`, and
  /// `peer`'s to this actor, go over their own socketpair and never through
  /// the node. Messages sent before it, routed through the node, still arrive
  /// first (both introductions follow them on their mailboxes). It returns at
  /// once if the channel exists. A dead `peer` closes the channel: requests on
  /// it then fail with actor_down, as on any direct channel. Fails with
  /// unknown_actor (no such actor alive), invalid_argument (itself), timeout,
  /// or system_error (the node has no descriptor left).
  expected<void> connect(actor_ref peer, std::chrono::milliseconds timeout = default_timeout) {
    if (adopt_channel(peer)) return {};
    wire::envelope_builder out;
    out.envelope().initSystem().setConnect(peer.id);
    if (auto answer = call({0}, out, timeout, {}); !answer) return answer.error();
    adopt_channel(peer);  // its introduction came just before the answer: the next sends go direct
    return {};
  }

  /// Calls `on_ready(revents)` on this actor's thread, between two handlers,
  /// whenever poll(2) finds `fd` ready for `events` (POLLIN and/or POLLOUT;
  /// POLLHUP and POLLERR are always reported). Level-triggered: it is called
  /// again after the loop's next wait for as long as the condition holds, so
  /// read or write until EAGAIN, or unwatch. One watch per descriptor: watching
  /// it again replaces the events and the callback. The callback may watch and
  /// unwatch any descriptor, its own included. The actor keeps ownership of
  /// `fd`.
  /// WARNING: unwatch a descriptor before closing it. A watch on a closed
  /// descriptor is reported once with POLLNVAL and dropped; a callback that
  /// leaves its descriptor ready and watched makes the loop spin.
  virtual void watch_fd(int fd, short events, std::function<void(short revents)> on_ready) = 0;
  /// Stops watching `fd` (no effect if it is not watched).
  virtual void unwatch_fd(int fd) = 0;
  /// Bytes this actor has sent that still wait in its own output buffers, not
  /// yet taken by the node or a peer. Its exit gives them one second to leave;
  /// an actor that must not lose them waits for 0 before it stops.
  virtual std::size_t unsent_bytes() const = 0;

 protected:
  context(uint64_t id, std::string name, std::vector<std::string> args, std::vector<unique_fd> fds)
      : id_(id), name_(std::move(name)), args_(std::move(args)), inherited_fds_(std::move(fds)) {}

  /// The open batch of one-way messages to `to`, opened (or, if another
  /// destination's batch is open on that channel, replaced) as needed. Opening
  /// one waits up to `timeout` for room in the channel's output, then fails
  /// with mailbox_full.
  virtual expected<wire::batch_builder*> open_batch(actor_ref to, std::chrono::milliseconds timeout) = 0;
  /// The message at `index` of `batch` is complete: takes it back with
  /// too_large if it cannot fit in a frame, else closes the batch if it is full
  /// (unless `nested`: another message of the batch is still being filled).
  virtual expected<void> added_to_batch(wire::batch_builder& batch, unsigned index, bool nested) = 0;
  /// The open batch of one-way messages to `to`, if one holds any and a
  /// message may still join it without waiting (unsent_last); never opens one.
  virtual wire::batch_builder* unsent_batch(actor_ref to) = 0;
  virtual expected<wire::frame_ptr> call(actor_ref to, wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                         std::vector<unique_fd> fds) = 0;
  /// Sends a one-way message with descriptors, unbatched.
  virtual expected<void> post(actor_ref to, wire::envelope_builder& out, std::vector<unique_fd> fds,
                              std::chrono::milliseconds timeout) = 0;
  virtual void respond(wire::envelope_builder& out, std::vector<unique_fd> fds) = 0;
  /// Whether a direct channel to `peer` is open, once the introduction of
  /// one, if it was kept while a request waited, has been taken (connect()).
  virtual bool adopt_channel(actor_ref peer) = 0;
  /// Sends an answer already addressed to a deferred request.
  virtual void answer(const deferred_reply& pending, wire::envelope_builder& out) = 0;
  /// The worker's mailbox socket, for fault injection only (detail::mailbox_fd).
  virtual int mailbox_descriptor() const = 0;
  friend int detail::mailbox_fd(const context& ctx);

  uint64_t current_sender_ = 0;
  uint64_t current_correlation_ = 0;
  uint64_t current_channel_ = 0;
  bool replied_ = false;
  std::vector<unique_fd> current_fds_;
  /// The batch whose message a send()'s fill function is filling, if any: it
  /// must not be closed until that message is complete.
  wire::batch_builder* filling_ = nullptr;

 private:
  uint64_t id_;
  std::string name_;
  std::vector<std::string> args_;
  std::vector<unique_fd> inherited_fds_;
};

/// The raw mailbox socket of the worker running `ctx`. For fault-injection tests
/// that write malformed frames; anything written there bypasses every check.
inline int detail::mailbox_fd(const context& ctx) { return ctx.mailbox_descriptor(); }

}  // namespace actorproc
