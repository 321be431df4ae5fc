#pragma once
// named_actor: a handle to a supervised child that survives its restarts.
//
// It resolves to whichever incarnation is current at each call. While the child
// restarts, what happens to a message is the child spec's declared policy:
// - restarting_policy::fail: send() and request() fail at once with
//   actor_restarting;
// - restarting_policy::buffer: a send() is kept (at most restart_buffer
//   messages; beyond that mailbox_full) and delivered to the next incarnation in
//   order; a request() waits for the next incarnation, within its timeout.
// A request whose incarnation dies before answering fails promptly with
// actor_down and the exit reason, unless `resend_on_restart` is set (for
// idempotent requests): then it is sent again to the next incarnation, within
// the same timeout.

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
  /// The current incarnation, if one is running.
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
