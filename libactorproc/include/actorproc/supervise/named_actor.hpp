#pragma once
// named_actor: a handle to a supervised child that survives its restarts.
//
// It resolves to whichever incarnation is current at each call. While the child
// restarts, what happens to a message is the child spec's declared policy. The
// restart begins, for a named handle, the moment the node can see the death
// (a write that finds the child's mailbox closed, the end of its mailbox
// stream, its exit announcement, its reaping),
// not when the supervisor hears of it: from then on nothing sent through the
// handle reaches the dead incarnation.
// - restarting_policy::fail: send() and request() fail at once with
//   actor_restarting;
// - restarting_policy::buffer: a send() is kept (at most restart_buffer
//   messages; beyond that mailbox_full) and delivered to the next incarnation in
//   order; a request() waits for the next incarnation, within its timeout.
// A request handed to an incarnation that dies before answering fails promptly
// with actor_down and the exit reason, unless `resend_on_restart` is set (for
// idempotent requests): then it is sent again to the next incarnation, within
// the same timeout. A child whose restart type rules out a restart (temporary,
// transient after a normal exit) fails with actor_down once its death is seen.

#include <actorproc/node/actor_handle.hpp>
#include <actorproc/supervise/spec.hpp>

#include <memory>

namespace actorproc {

namespace detail {
struct name_entry;
}

class named_actor {
 public:
  named_actor() = default;
  explicit named_actor(std::shared_ptr<detail::name_entry> entry) : entry_(std::move(entry)) {}

  bool valid() const { return entry_ != nullptr; }
  const std::string& id() const;
  /// The current incarnation, if one is running: none from the moment the
  /// node has seen it die until the next one is up.
  std::optional<actor_handle> current() const;

  template <class M, class Fill = no_fields>
  expected<void> send(Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout) const {
    wire::envelope_builder out;
    fill(out.init_user<M>());
    return post(out, timeout);
  }

  template <class M, class R, class Fill = no_fields>
  expected<message<R>> request(Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout,
                               bool resend_on_restart = false) const {
    wire::envelope_builder out;
    fill(out.init_user<M>());
    auto answer = call(out, timeout, resend_on_restart);
    if (!answer) return answer.error();
    return message<R>::from(std::move(*answer));
  }

 private:
  expected<void> post(wire::envelope_builder& out, std::chrono::milliseconds timeout) const;
  expected<wire::frame_ptr> call(wire::envelope_builder& out, std::chrono::milliseconds timeout, bool resend) const;

  std::shared_ptr<detail::name_entry> entry_;
};

}  // namespace actorproc
