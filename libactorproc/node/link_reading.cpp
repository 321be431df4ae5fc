// Who reads a link's socket: the reactor, or a host thread waiting for the
// answer to its own request.
//
// Why a host thread reads: through the reactor, a host request's round trip
// wakes three threads (the worker, the reactor, the waiting thread); read by
// the waiting thread itself it wakes two, as a raw socketpair ping-pong does.
// Measured with strace and perf on 2 vCPUs: 3 futex calls, 1 epoll_wait and
// about 4.3 context switches per round trip before, none of those futex calls
// and about 2 switches after (bench: rt_host).
//
// What keeps it safe:
// - One reader at a time. The decoder belongs to whoever holds the socket
//   (reactor_reading or host_reading, both under the link's mutex). While a
//   host thread holds it, epoll does not watch its input, so the answer does
//   not wake the reactor.
// - The host thread handles only what it can finish alone: answers from this
//   actor to the node's blocking requests, without descriptors. Anything else
//   stays in the decoder, unconsumed: a frame to route, a system message, an
//   answer to request_async (whose callback runs on the reactor thread), a
//   frame that fails validation. The thread then hands the link back and the
//   reactor handles it, in stream order, exactly as if it had read it.
// - An exit the reactor sees meanwhile waits until the link is handed back,
//   so an answer sent before the actor died is still its request's answer,
//   and the socket is never closed under a reading thread.
#include "link.hpp"

#include <poll.h>

#include <cerrno>

namespace actorproc::detail {
namespace {

using clock = std::chrono::steady_clock;

expected<wire::frame_ptr> failure_of(schema::Envelope::Reader env) {
  auto failure = env.getFailure();
  std::optional<exit_reason> why;
  if (failure.hasReason()) why = wire::read_exit_reason(failure.getReason());
  return error(static_cast<errc>(failure.getCode()), failure.getMessage(), why);
}

// Whether `env` is an answer from actor `id` that a host thread may take.
bool host_may_take(schema::Envelope::Reader env, uint64_t id) {
  return env.getFrom() == id && env.getTo() == 0 && env.getFdCount() == 0 && (env.isResponse() || env.isFailure());
}

}  // namespace

bool link::begin_reactor_read() {
  std::lock_guard lock(mutex);
  if (host_reading) return false;
  reactor_reading = true;
  return true;
}

void link::end_reactor_read() {
  std::lock_guard lock(mutex);
  reactor_reading = false;
}

void link::answer_arrived(schema::Envelope::Reader env, kj::ArrayPtr<const capnp::word> frame,
                          std::vector<unique_fd> fds) {
  std::shared_ptr<pending_request> request;
  {
    std::lock_guard lock(mutex);
    auto it = pending.find(env.getCorrelation());
    if (it == pending.end()) return;  // its requester timed out and left
    request = std::move(it->second);
    pending.erase(it);
  }
  if (env.isResponse()) {
    auto answer = std::make_unique<wire::owned_frame>(frame, limits);
    answer->attach_fds(std::move(fds));
    request->complete(std::move(answer));
  } else {
    request->complete(failure_of(env));
  }
}

bool link::take_answer(kj::ArrayPtr<const capnp::word> frame) {
  wire::frame_ptr answer;
  try {
    // One parse: the copy the requester gets is the one validated.
    answer = std::make_unique<wire::owned_frame>(frame, limits, wire::owned_frame::validate);
  } catch (...) {
    return false;  // the reactor validates it again, and fails the link
  }
  auto env = answer->envelope();
  if (!host_may_take(env, id)) return false;
  std::shared_ptr<pending_request> request;
  {
    std::lock_guard lock(mutex);
    auto it = pending.find(env.getCorrelation());
    if (it != pending.end()) {
      if (it->second->then) return false;  // request_async: answered on the reactor thread
      request = std::move(it->second);
      pending.erase(it);
    }
  }
  ++messages_out;
  if (!request) return true;  // its requester timed out and left
  if (env.isResponse()) {
    request->complete(std::move(answer));
  } else {
    request->complete(failure_of(env));
  }
  return true;
}

void link::read_own_answer(pending_request& request, clock::time_point deadline) {
  {
    std::lock_guard lock(mutex);
    if (host_reading || reactor_reading || paused || !socket_open || exit_deferred || read_failure ||
        state == link_state::exited) {
      return;  // the reactor answers it, as before
    }
    host_reading = true;
    owner.watch_changed(*this);  // epoll stops watching its input
  }
  auto answered = [&] {
    std::lock_guard lock(request.mutex);
    return request.completed;
  };
  bool reading = true;
  while (reading && !answered()) {
    try {
      while (in.has_complete_frame()) {
        if (!take_answer(*in.peek(0))) {
          reading = false;  // a frame for the reactor: hand the link back
          break;
        }
        (void)in.next();
        if (answered()) break;
      }
    } catch (const wire::protocol_error&) {
      break;  // a bad header: the reactor reads it again and fails the link
    }
    if (!reading || answered()) break;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) break;
    pollfd watch{socket.get(), POLLIN, 0};
    int ready = ::poll(&watch, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    try {
      auto status = in.read_from(socket.get());
      // The end of the stream, or a failed read: the reactor's to act on.
      reading = status == wire::read_status::data || status == wire::read_status::would_block;
    } catch (const wire::protocol_error& e) {
      std::lock_guard lock(mutex);
      read_failure = e.what();
      break;
    }
  }
  bool give_back;
  {
    std::lock_guard lock(mutex);
    host_reading = false;
    owner.watch_changed(*this);  // input that came meanwhile now wakes the reactor
    give_back = exit_deferred || read_failure || in.buffered_bytes() > 0;
  }
  if (give_back) owner.hand_back(*this);
}

}  // namespace actorproc::detail
