// The reactor's routing: frames read from a worker go to another actor's
// mailbox (parking the sender while it is full), or to the node (answers to
// the node's requests, system messages). See reactor.hpp.
#include "reactor.hpp"

#include <kj/exception.h>

#include <algorithm>

namespace actorproc::detail {
namespace {

// Parked senders resume once the destination has drained to half its bound,
// so one freed byte does not wake everyone for one message each.
bool drained_enough(const link& l) { return l.out.size() <= l.mailbox_bytes / 2; }

}  // namespace

bool reactor::read_and_route(link& l) {
  // Frames a host thread read and left (link_reading.cpp) go first; and only
  // a stream with no complete frame left that ends counts as truncated.
  route_buffered(l);
  if (!l.socket_open || l.parked) return false;
  wire::read_status status;
  try {
    status = l.in.read_from(l.socket.get());
  } catch (const wire::protocol_error& e) {
    protocol_failure(l, e.what());
    return false;
  }
  route_buffered(l);
  switch (status) {
    case wire::read_status::data:
      return true;
    case wire::read_status::would_block:
      return false;
    case wire::read_status::truncated:
      protocol_failure(l, "the stream ended in the middle of a frame");
      return false;
    case wire::read_status::end_of_stream:
    case wire::read_status::failed:
      stop_reading(l);  // its pidfd tells when it has exited
      return false;
  }
  return false;
}

void reactor::route_buffered(link& l) {
  while (l.socket_open && !l.parked) {
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    try {
      frame = l.in.next();
    } catch (const wire::protocol_error& e) {
      protocol_failure(l, e.what());
      return;
    }
    if (!frame) return;
    if (!route(l, *frame, std::nullopt)) return;
  }
}

bool reactor::route(link& from, kj::ArrayPtr<const capnp::word> frame, std::optional<std::vector<unique_fd>> fds) {
  // envelope_reader reads every field the node uses, so nothing below should
  // throw; if it ever does, the sender's link fails, never the reactor thread.
  try {
    return route_validated(from, frame, std::move(fds));
  } catch (const kj::Exception& e) {
    protocol_failure(from, std::string("malformed frame: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    protocol_failure(from, std::string("while routing its frame: ") + e.what());
  }
  return false;
}

bool reactor::route_validated(link& from, kj::ArrayPtr<const capnp::word> frame,
                              std::optional<std::vector<unique_fd>> claimed) {
  std::optional<wire::envelope_reader> env;
  std::vector<unique_fd> fds;
  try {
    env.emplace(frame, limits_);
    // The descriptors the frame announced, checked against what came with it
    // (a parked frame's were claimed when it was first routed). They go where
    // the frame goes; wherever it is dropped, they are closed with it.
    fds = claimed ? std::move(*claimed) : from.in.claim_fds(env->get().getFdCount());
  } catch (const wire::protocol_error& e) {
    protocol_failure(from, e.what());
    return false;
  }
  auto envelope = env->get();
  if (envelope.getFrom() != from.id) {
    protocol_failure(from, "frame claims to come from actor " + std::to_string(envelope.getFrom()));
    return false;
  }
  std::size_t messages = wire::message_count(envelope);
  from.messages_out += messages;
  uint64_t to_id = envelope.getTo();
  if (to_id == 0) {
    to_node(from, envelope, frame, std::move(fds));
    return true;
  }
  auto to = find(to_id);
  bool is_request = envelope.isUser() && envelope.getCorrelation() != 0;
  if (envelope.isResponse() || envelope.isFailure()) from.inflight.erase({to_id, envelope.getCorrelation()});
  if (!to) {
    if (is_request) {
      if (auto reason = exit_reason_of(to_id)) {
        answer_failure(from, to_id, envelope.getCorrelation(), errc::actor_down,
                       "actor " + std::to_string(to_id) + " has exited", reason);
      } else {
        answer_failure(from, to_id, envelope.getCorrelation(), errc::unknown_actor,
                       "no actor with id " + std::to_string(to_id) + " is alive on this node");
      }
    }
    return true;  // a one-way message to a dead actor is dropped, as in Erlang
  }
  {
    std::lock_guard lock(to->mutex);
    if (to->state != link_state::exited && to->has_room_locked()) {
      to->append_locked(frame, messages, std::move(fds));
      if (is_request) to->inflight.emplace(from.id, envelope.getCorrelation());
      if (!to->dirty) {
        to->dirty = true;
        dirty_.push_back(to);
      }
      return true;
    }
    if (to->state == link_state::exited) {
      auto reason = to->final_reason;
      if (is_request) {
        answer_failure(from, to_id, envelope.getCorrelation(), errc::actor_down, "actor '" + to->name + "' has exited",
                       reason);
      }
      return true;
    }
  }
  park(from, *to, frame, std::move(fds));
  return false;
}

void reactor::park(link& from, link& to, kj::ArrayPtr<const capnp::word> frame, std::vector<unique_fd> fds) {
  from.parked = std::make_unique<wire::owned_frame>(frame, limits_);
  from.parked->attach_fds(std::move(fds));
  from.parked_on = to.id;
  {
    std::lock_guard lock(to.mutex);
    to.blocked.push_back(from.id);
  }
  std::lock_guard lock(from.mutex);
  from.paused = true;
  update_events_locked(from);  // stop reading from the sender until the destination drains
}

void reactor::wake_parked(link& l) {
  std::vector<uint64_t> waiting;
  {
    std::lock_guard lock(l.mutex);
    if (l.state != link_state::exited && !drained_enough(l)) return;
    waiting.swap(l.blocked);
  }
  for (uint64_t id : waiting) {
    if (auto sender = find(id)) resume(*sender);
  }
}

void reactor::resume(link& l) {
  if (!l.parked) return;
  wire::frame_ptr frame = std::move(l.parked);
  {
    std::lock_guard lock(l.mutex);
    l.paused = false;
    // Still the reactor's to read: the frames behind the parked one come first.
    l.reactor_reading = true;
    update_events_locked(l);
  }
  // Counted when it was first routed.
  std::size_t messages = wire::message_count(frame->envelope());
  bool delivered = route(l, frame->words(), frame->take_fds());
  l.messages_out -= messages;
  if (delivered) route_buffered(l);
  l.end_reactor_read();
  if (l.reaped && !l.parked) {
    if (auto exited = find(l.id)) on_exit(exited);  // reads what is left, then finishes the exit
  }
}

void reactor::to_node(link& from, schema::Envelope::Reader env, kj::ArrayPtr<const capnp::word> frame,
                      std::vector<unique_fd> fds) {
  switch (env.which()) {
    case schema::Envelope::RESPONSE:
    case schema::Envelope::FAILURE:
      from.answer_arrived(env, frame, std::move(fds));  // a reply_with_fds: message<R>::take_fds()
      return;
    case schema::Envelope::SYSTEM:
      break;
    default:
      hooks_.log("actor '" + from.name + "' sent a user message to the node; dropped (the node has no mailbox)");
      return;
  }
  auto system = env.getSystem();
  switch (system.which()) {
    case schema::System::READY: {
      {
        std::lock_guard lock(from.mutex);
        if (from.state == link_state::starting) from.state = link_state::running;
        from.was_ready = true;
      }
      from.changed.notify_all();
      break;
    }
    case schema::System::EXIT: {
      std::lock_guard lock(from.mutex);
      from.announced = wire::read_exit_reason(system.getExit());
      from.death_seen = true;  // it announces its exit once it has stopped reading
      break;
    }
    case schema::System::MONITOR: {
      auto target = find(system.getMonitor());
      if (target) {
        std::lock_guard lock(target->mutex);
        if (target->state != link_state::exited) {
          target->watchers.push_back(from.id);
          break;
        }
      }
      wire::envelope_builder out;
      out.address(from.id, 0, 0);
      auto down = out.envelope().initSystem().initDown();
      down.setActor(system.getMonitor());
      wire::write_exit_reason(down.initReason(),
                              exit_reason_of(system.getMonitor())
                                  .value_or(exit_reason::because(exit_reason::kind::normal, "noproc: no such actor")));
      from.enqueue(out.message(), {}, delivery::in_order);
      break;
    }
    case schema::System::CONNECT: {
      // context::connect: both introductions go first, then the answer.
      uint64_t peer_id = system.getConnect();
      auto peer = find(peer_id);
      expected<void> made = error(errc::unknown_actor, "no actor with id " + std::to_string(peer_id) + " is alive");
      if (peer.get() == &from) made = error(errc::invalid_argument, "an actor cannot connect to itself");
      else if (peer) made = connect_links(from, *peer, size());
      if (!made) {
        answer_failure(from, 0, env.getCorrelation(), made.error().code, made.error().message);
        break;
      }
      wire::envelope_builder out;
      out.address(from.id, 0, env.getCorrelation());
      out.envelope().initResponse();
      from.enqueue(out.message(), {}, delivery::in_order);
      break;
    }
    case schema::System::HEARTBEAT:
      if (from.heartbeat_outstanding != 0 && system.getHeartbeat() == from.heartbeat_outstanding) {
        from.heartbeat_outstanding = 0;
        from.heartbeat_due = std::chrono::steady_clock::now() + from.heartbeat.interval;
      }
      break;
    default:
      break;  // reserved kinds
  }
}

void reactor::answer_failure(link& to, uint64_t from, uint64_t correlation, errc code, const std::string& message,
                             const std::optional<exit_reason>& reason) {
  wire::envelope_builder out;
  out.address(to.id, from, correlation);
  auto failure = out.init_failure(code, message);
  if (reason) wire::write_exit_reason(failure.initReason(), *reason);
  to.enqueue(out.message(), {}, delivery::in_order);  // an answer is never refused: it frees its requester
}

void reactor::flush_routed() {
  // A destination may have filled up during this turn and drained entirely in
  // this flush, with no writability event to come: resume its parked senders
  // here (which may route, and dirty, more).
  while (!dirty_.empty()) {
    auto batch = std::move(dirty_);
    dirty_.clear();
    for (auto& l : batch) {
      {
        std::lock_guard lock(l->mutex);
        l->dirty = false;
        if (l->state != link_state::exited) l->flush_locked();
      }
      wake_parked(*l);
    }
  }
}

}  // namespace actorproc::detail
