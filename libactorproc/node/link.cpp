#include "link.hpp"

#include "descriptor_limit.hpp"

#include <actorproc/process/pidfd.hpp>

#include <sys/socket.h>

#include <atomic>

namespace actorproc::detail {
namespace {

using clock = std::chrono::steady_clock;

// Correlation ids are unique per node, so an answer can never complete the
// wrong request even if ids crossed links.
std::atomic<uint64_t> next_correlation{1};

error down_error(const link& l) {
  return error(errc::actor_down, "actor '" + l.name + "' (id " + std::to_string(l.id) + ") has exited", l.final_reason);
}

// Under the link's mutex: whether `dying` says to send nothing to `l` now.
bool refused_locked(const link& l, if_dying dying) {
  return l.state == link_state::exited || (dying == if_dying::refuse && l.death_seen);
}

}  // namespace

void link::flush_locked() {
  batch.close_into(out);
  // While the socket is watched for writability it is known to be full: the
  // reactor flushes when it drains, and a send() now would only fail.
  if (out.empty() || write_watched) return;
  auto status = out.flush(socket.get());
  if (status == wire::flush_status::would_block) {
    write_watched = true;
    owner.watch_changed(*this);
  } else if (status == wire::flush_status::failed) {
    // The child's end is closed, so it has exited (a worker never closes its
    // mailbox): this write is the first to see the death, before the reactor.
    out.clear();
    death_seen = true;
  }
}

expected<void> link::await_room_locked(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout,
                                       if_dying dying) {
  if (has_room_locked() || refused_locked(*this, dying)) {
    if (refused_locked(*this, dying)) return down_error(*this);
    return {};  // the common case: no clock read
  }
  auto deadline = clock::now() + timeout;
  while (!refused_locked(*this, dying) && !has_room_locked()) {
    if (changed.wait_until(lock, deadline) == std::cv_status::timeout && !has_room_locked()) {
      if (refused_locked(*this, dying)) break;
      return error(errc::mailbox_full,
                   "the mailbox of actor '" + name + "' stayed full for " + std::to_string(timeout.count()) + " ms");
    }
  }
  if (refused_locked(*this, dying)) return down_error(*this);
  return {};
}

expected<void> link::enqueue(capnp::MessageBuilder& message, std::chrono::milliseconds timeout, delivery how,
                             std::vector<unique_fd> fds, if_dying dying) {
  if (std::size_t bytes = wire::framed_size(message); bytes > max_frame_bytes) {
    return error(errc::too_large, "a message of " + std::to_string(bytes) + " bytes exceeds the frame limit of " +
                                      std::to_string(max_frame_bytes) + " bytes; not sent to actor '" + name + "'");
  }
  if (fds.size() > wire::frame_decoder::max_fds_per_frame) {
    return error(errc::invalid_argument, "a message with " + std::to_string(fds.size()) + " descriptors (at most " +
                                             std::to_string(wire::frame_decoder::max_fds_per_frame) +
                                             "); not sent to actor '" + name + "'");
  }
  std::unique_lock lock(mutex);
  if (how == delivery::user) {
    if (auto room = await_room_locked(lock, timeout, dying); !room) return room;
  }
  if (refused_locked(*this, dying)) return down_error(*this);
  if (how == delivery::ahead && fds.empty()) {
    out.append_ahead(message);
  } else {
    batch.close_into(out);  // the host's sends before it go first
    out.append(message, std::move(fds));
  }
  flush_locked();
  // A write that found the child gone delivered nothing, this message included.
  if (refused_locked(*this, dying)) return down_error(*this);
  ++messages_in;
  return {};
}

void link::append_locked(kj::ArrayPtr<const capnp::word> frame, std::size_t messages, std::vector<unique_fd> fds) {
  out.append(frame, std::move(fds));
  messages_in += messages;
}

expected<uint64_t> link::start_request(wire::envelope_builder& builder, const std::shared_ptr<pending_request>& request,
                                       std::chrono::milliseconds timeout, if_dying dying,
                                       std::vector<unique_fd> fds) {
  uint64_t correlation = next_correlation.fetch_add(1, std::memory_order_relaxed);
  builder.address(id, 0, correlation);
  {
    std::lock_guard lock(mutex);
    if (refused_locked(*this, dying)) return down_error(*this);
    pending.emplace(correlation, request);
  }
  if (auto sent = enqueue(builder.message(), timeout, delivery::user, std::move(fds), dying); !sent) {
    std::lock_guard lock(mutex);
    pending.erase(correlation);
    return sent.error();
  }
  return correlation;
}

expected<wire::frame_ptr> link::call(wire::envelope_builder& builder, std::chrono::milliseconds timeout,
                                     std::vector<unique_fd> fds) {
  auto deadline = clock::now() + timeout;
  auto request = std::make_shared<pending_request>();
  auto correlation = start_request(builder, request, timeout, if_dying::deliver, std::move(fds));
  if (!correlation) return correlation.error();
  return await_answer(request, *correlation, deadline, timeout);
}

std::optional<expected<wire::frame_ptr>> link::call_unless_dying(wire::envelope_builder& builder,
                                                                 std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto request = std::make_shared<pending_request>();
  auto correlation = start_request(builder, request, timeout, if_dying::refuse);
  // Refused before anything was sent: the only actor_down a start can give.
  if (!correlation && correlation.error().code == errc::actor_down) return std::nullopt;
  if (!correlation) return correlation.error();
  return await_answer(request, *correlation, deadline, timeout);
}

expected<wire::frame_ptr> link::await_answer(const std::shared_ptr<pending_request>& request, uint64_t correlation,
                                             clock::time_point deadline, std::chrono::milliseconds timeout) {
  read_own_answer(*request, deadline);
  std::unique_lock wait(request->mutex);
  if (!request->done.wait_until(wait, deadline, [&] { return request->result.has_value(); })) {
    wait.unlock();
    std::lock_guard lock(mutex);
    pending.erase(correlation);
    wait.lock();
    if (!request->result) {
      return error(errc::timeout,
                   "actor '" + name + "' did not answer within " + std::to_string(timeout.count()) + " ms");
    }
  }
  return std::move(*request->result);
}

void link::call_async(wire::envelope_builder& builder, std::function<void(expected<wire::frame_ptr>)> then) {
  auto request = std::make_shared<pending_request>();
  request->then = std::move(then);
  // Never waits: a full mailbox is an answer like any other, given at once.
  if (auto sent = start_request(builder, request, std::chrono::milliseconds(0), if_dying::deliver); !sent) {
    request->complete(sent.error());
  }
}

expected<void> connect_links(link& a, link& b, std::size_t actors) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return socketpair_failed("connect", actors);
  unique_fd end_a(sv[0]), end_b(sv[1]);
  auto introduce = [](link& to, uint64_t peer, unique_fd fd) {
    wire::envelope_builder out;
    out.address(to.id, 0, 0);
    out.envelope().setFdCount(1);
    out.envelope().initSystem().setPeer(peer);
    std::vector<unique_fd> fds;
    fds.push_back(std::move(fd));
    return to.enqueue(out.message(), {}, delivery::in_order, std::move(fds));
  };
  if (auto r = introduce(a, b.id, std::move(end_a)); !r) return r;
  return introduce(b, a.id, std::move(end_b));
}

bool link::signal(int signo) {
  std::lock_guard lock(mutex);
  return pidfd && process::signal_process(pidfd.get(), signo);
}

std::optional<exit_reason> link::exit_reason_now() const {
  std::lock_guard lock(mutex);
  return final_reason;
}

bool link::dying() const {
  std::lock_guard lock(mutex);
  return refused_locked(*this, if_dying::refuse);
}

}  // namespace actorproc::detail
