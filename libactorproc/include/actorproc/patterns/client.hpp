#pragma once
// What every pattern client is built on: the Caller concept and the request
// shapes the pattern protocols share.
//
// Each pattern (queue, lock, shared dict and list, the synchronization
// primitives, port) is an actor process of its own, and its client template
// (queue_client<Caller>, lock_client<Caller>, ...) turns each operation into a
// request to it (the queue's client pipelines instead: one-way puts on credits,
// batched gets; queue.hpp). A Caller is anything with request<M, R>(fill, timeout):
// - actor_handle, from the node (any thread);
// - from_actor, from a handler inside a worker: direct_caller() (the default of
//   queue_in() and the others) or routed_caller().
// A client's one-way operations (a dict's add_nowait) also need its
// send<M>(fill, timeout), which both have.
//
// A blocking operation (a get on an empty queue, an acquire) carries its
// timeout in the message: the pattern's actor answers it itself once the
// timeout passes, and the request waits detail::answer_margin longer, so that
// the caller gets the actor's answer (queue_empty, timeout...) rather than a
// request timeout of its own.

#include <actorproc/actor/actor_ref.hpp>
#include <actorproc/actor/context.hpp>
#include <actorproc/base/defaults.hpp>
#include <actorproc/base/expected.hpp>
#include <actorproc/wire/message.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

namespace actorproc {

/// The Caller of a pattern client inside a worker: requests from the actor
/// behind `ctx` to the pattern actor `to`.
struct from_actor {
  context& ctx;
  actor_ref to;
  template <class M, class R, class Fill>
  expected<message<R>> request(Fill&& fill, std::chrono::milliseconds timeout) const {
    return ctx.request<M, R>(to, std::forward<Fill>(fill), timeout);
  }
  /// One-way, as actor_handle::send: batched with the actor's other sends to `to`.
  template <class M, class Fill>
  expected<void> send(Fill&& fill, std::chrono::milliseconds timeout) const {
    return ctx.send<M>(to, std::forward<Fill>(fill), timeout);
  }
};

/// The Caller for a pattern client in an actor, over a direct channel: what
/// queue_in(), lock_in(), dict_in(), list_in(), semaphore_in(), event_in(),
/// condition_in(), barrier_in(), value_in() and port_in() use. It asks the node
/// once for a socketpair to the pattern's actor (context::connect; later
/// clients of the same actor find it open), so that the traffic does not pass
/// through the node (about twice the throughput of a routed queue:
/// bench/queue_bench). If connecting fails (the actor is gone, or the node is
/// out of descriptors), the client is routed through the node instead, and
/// its first operation reports what is wrong (unknown_actor for a dead actor).
///
/// The ordering a routed client has is kept: what this actor sent on the direct
/// channel is handled by the pattern's actor before anything this actor sends,
/// or makes others send, through the node afterwards (the worker's causal
/// order: actor/causal_gate.hpp; kept while the pattern's actor reads its
/// socket, not past a second of it reading nothing). So an actor that acknowledges items one-way
/// and then tells the host "done" has every acknowledgement counted by the
/// host's next qsize() or status(), and a client that dies has its last
/// one-way messages handled before the pattern's actor learns of the death.
/// What is not ordered: a message the pattern's actor gets through the node
/// (from the host, say) and a direct message this actor sent because of it
/// (the host puts, then asks this actor to get_nowait(): the get may come
/// first; a blocking get() waits for the item).
inline from_actor direct_caller(context& ctx, actor_ref to) {
  (void)ctx.connect(to);
  return from_actor{ctx, to};
}

/// The Caller for a pattern client in an actor that goes through the node: the
/// opt-out of direct_caller(), e.g. `queue_client<from_actor>
/// q(routed_caller(ctx, queue_id));`. It opens no channel; but if this actor
/// has a direct channel to `to` already (connect), its traffic takes it.
inline from_actor routed_caller(context& ctx, actor_ref to) { return from_actor{ctx, to}; }

namespace detail {
/// A blocking operation's actor answers it itself when its timeout passes; the
/// request waits this much longer, so that the answer, not a timeout, arrives.
inline constexpr std::chrono::milliseconds answer_margin{2000};

/// A timeout as a wire field (UInt32 milliseconds), clamped.
inline uint32_t timeout_millis(std::chrono::milliseconds timeout) {
  return static_cast<uint32_t>(std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, UINT32_MAX));
}

/// The outcome of a request whose answer carries nothing.
template <class R>
expected<void> ok(expected<message<R>> r) {
  if (!r) return r.error();
  return {};
}

/// The answer `r` as read by `read`, or its error.
template <class R, class Read>
auto then(expected<message<R>> r, Read read) -> expected<decltype(read(*r))> {
  if (!r) return r.error();
  return read(*r);
}

/// A request without fields, with the default timeout.
template <class M, class R, class Caller>
expected<message<R>> simple_request(const Caller& caller) {
  return caller.template request<M, R>(no_fields{}, default_timeout);
}

/// A blocking request, which the actor answers itself once `timeout` passes (M
/// has a timeoutMillis field): it waits answer_margin longer, plus `extra`.
template <class M, class R, class Caller, class Fill = no_fields>
expected<message<R>> timed_request(const Caller& caller, std::chrono::milliseconds timeout, Fill&& fill = {},
                                   std::chrono::milliseconds extra = std::chrono::milliseconds(0)) {
  return caller.template request<M, R>(
      [&](typename M::Builder b) {
        b.setTimeoutMillis(timeout_millis(timeout));
        fill(b);
      },
      timeout + extra + answer_margin);
}
}  // namespace detail

}  // namespace actorproc
