#include <actorproc/node/actor_handle.hpp>

#include "link.hpp"

#include <signal.h>

namespace actorproc {

uint64_t actor_handle::id() const { return link_->id; }
const std::string& actor_handle::name() const { return link_->name; }
pid_t actor_handle::pid() const { return link_->pid; }

expected<void> actor_handle::post(wire::envelope_builder& out, std::chrono::milliseconds timeout) const {
  return link_->send(out, timeout);
}

bool actor_handle::bursting() const { return link_->bursting(); }

expected<void> actor_handle::post(schema::Payload::Reader message, std::chrono::milliseconds timeout) const {
  return link_->send(message, timeout);
}

expected<void> actor_handle::post_with_fds(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                           std::vector<unique_fd> fds) const {
  return link_->enqueue(out.message(), timeout, detail::delivery::user, std::move(fds));
}

std::optional<expected<void>> actor_handle::post_unless_dying(capnp::MessageBuilder& message,
                                                              std::chrono::milliseconds timeout) const {
  auto sent = link_->enqueue(message, timeout, detail::delivery::user, {}, detail::if_dying::refuse);
  if (!sent && sent.error().code == errc::actor_down) return std::nullopt;  // nothing was sent
  return sent;
}

std::optional<expected<wire::frame_ptr>> actor_handle::call_unless_dying(wire::envelope_builder& out,
                                                                         std::chrono::milliseconds timeout) const {
  return link_->call_unless_dying(out, timeout);
}

bool actor_handle::dying() const { return link_->dying(); }

expected<wire::frame_ptr> actor_handle::call(wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                             std::vector<unique_fd> fds) const {
  return link_->call(out, timeout, std::move(fds));
}

void actor_handle::call_async(wire::envelope_builder& out,
                              std::function<void(expected<wire::frame_ptr>)> then) const {
  link_->call_async(out, std::move(then));
}

void actor_handle::stop(std::chrono::milliseconds grace) const { stop(exit_reason::normal(), grace); }

void actor_handle::stop(exit_reason reason, std::chrono::milliseconds grace) const {
  link_->owner.stop(*link_, std::move(reason), grace);
}

bool actor_handle::signal(int signo) const { return link_->signal(signo); }
bool actor_handle::kill() const { return signal(SIGKILL); }
bool actor_handle::terminate() const { return signal(SIGTERM); }

bool actor_handle::alive() const { return !exit().has_value(); }

std::optional<exit_reason> actor_handle::exit() const { return link_->exit_reason_now(); }

expected<exit_reason> actor_handle::join(std::chrono::milliseconds timeout) const {
  return link_->owner.join(*link_, timeout);
}

void actor_handle::monitor(std::function<void(actor_ref, const exit_reason&)> on_down) const {
  link_->owner.monitor(*link_, std::move(on_down));
}

actor_stats actor_handle::stats() const {
  actor_stats s;
  s.messages_in = link_->messages_in.load();
  s.messages_out = link_->messages_out.load();
  std::lock_guard lock(link_->mutex);
  s.mailbox_bytes = link_->out.size() + link_->batch.size_bytes();
  return s;
}

}  // namespace actorproc
