#include "reactor.hpp"

#include "exit_decision.hpp"

#include <actorproc/process/pidfd.hpp>

#include <kj/exception.h>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace actorproc::detail {
namespace {

// epoll data: the actor id shifted left, the low bit set for its pidfd. Id 0 is the wake eventfd.
uint64_t socket_key(uint64_t id) { return id << 1; }
uint64_t pidfd_key(uint64_t id) { return (id << 1) | 1; }

// How many exit reasons of dead actors are remembered.
constexpr std::size_t graveyard_size = 4096;

// Parked senders resume once the destination has drained to half its bound,
// so one freed byte does not wake everyone for one message each.
bool drained_enough(const link& l) { return l.out.size() <= l.mailbox_bytes / 2; }

}  // namespace

reactor::reactor(wire::limits limits, hooks h)
    : limits_(limits),
      hooks_(std::move(h)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { run(); });
}

reactor::~reactor() {
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void reactor::add(std::shared_ptr<link> l) {
  if (l->heartbeat.interval.count() > 0) {
    if (l->heartbeat.timeout.count() <= 0) l->heartbeat.timeout = 3 * l->heartbeat.interval;
    l->heartbeat_due = std::chrono::steady_clock::now() + l->heartbeat.interval;
  }
  {
    std::lock_guard lock(links_mutex_);
    links_[l->id] = l;
    if (l->heartbeat.interval.count() > 0) heartbeat_links_.push_back(l->id);
  }
  if (l->heartbeat.interval.count() > 0) {
    uint64_t one = 1;  // recompute epoll's timeout with this actor's first heartbeat
    (void)!::write(wake_.get(), &one, sizeof one);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = pidfd_key(l->id);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, l->pidfd.get(), &ev);
  std::lock_guard lock(l->mutex);
  ev.data.u64 = socket_key(l->id);
  ev.events = EPOLLIN | (l->write_watched ? uint32_t{EPOLLOUT} : 0u);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, l->socket.get(), &ev);
}

void reactor::update_events_locked(link& l) {
  if (!l.socket_open) return;
  epoll_event ev{};
  ev.events = (l.paused ? 0u : uint32_t{EPOLLIN}) | (l.write_watched ? uint32_t{EPOLLOUT} : 0u);
  ev.data.u64 = socket_key(l.id);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, l.socket.get(), &ev);
}

std::shared_ptr<link> reactor::find(uint64_t id) const {
  std::lock_guard lock(links_mutex_);
  auto it = links_.find(id);
  return it == links_.end() ? nullptr : it->second;
}

std::optional<exit_reason> reactor::exit_reason_of(uint64_t id) const {
  std::lock_guard lock(links_mutex_);
  auto it = graveyard_.find(id);
  if (it == graveyard_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::shared_ptr<link>> reactor::all() const {
  std::lock_guard lock(links_mutex_);
  std::vector<std::shared_ptr<link>> out;
  for (auto& [id, l] : links_) out.push_back(l);
  return out;
}

std::size_t reactor::size() const {
  std::lock_guard lock(links_mutex_);
  return links_.size();
}

bool reactor::wait_until_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(links_mutex_);
  return links_changed_.wait_until(lock, deadline, [&] { return links_.empty(); });
}

void reactor::run() {
  constexpr int max_events = 64;
  epoll_event events[max_events];
  while (!stopping_) {
    int timeout = check_heartbeats();
    int n = ::epoll_wait(epoll_.get(), events, max_events, timeout);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      uint64_t key = events[i].data.u64;
      if (key == 0) {  // the wake eventfd
        uint64_t count;
        (void)!::read(wake_.get(), &count, sizeof count);
        continue;
      }
      auto l = find(key >> 1);
      if (!l) continue;  // already finalized; a stale event from the same batch
      if (key & 1) {
        on_exit(l);
      } else {
        on_socket_event(*l, events[i].events);
      }
    }
    flush_routed();
  }
}

void reactor::on_socket_event(link& l, uint32_t events) {
  if (events & EPOLLOUT) {
    {
      std::lock_guard lock(l.mutex);
      l.write_watched = false;
      l.flush_locked();  // watches again if it still does not all fit
      if (!l.write_watched) update_events_locked(l);
    }
    l.changed.notify_all();  // senders waiting for room
    wake_parked(l);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_and_route(l);
}

void reactor::read_and_route(link& l) {
  if (!l.socket_open || l.parked) return;
  wire::read_status status;
  try {
    status = l.in.read_from(l.socket.get());
  } catch (const wire::protocol_error& e) {
    protocol_failure(l, e.what());
    return;
  }
  route_buffered(l);
  switch (status) {
    case wire::read_status::data:
    case wire::read_status::would_block:
      return;
    case wire::read_status::truncated:
      protocol_failure(l, "the stream ended in the middle of a frame");
      return;
    case wire::read_status::end_of_stream:
    case wire::read_status::failed:
      stop_reading(l);  // its pidfd tells when it has exited
      return;
  }
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
    if (!route(l, *frame)) return;
  }
}

bool reactor::route(link& from, kj::ArrayPtr<const capnp::word> frame) {
  // envelope_reader reads every field the node uses, so nothing below should
  // throw; if it ever does, the sender's link fails, never the reactor thread.
  try {
    return route_validated(from, frame);
  } catch (const kj::Exception& e) {
    protocol_failure(from, std::string("malformed frame: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    protocol_failure(from, std::string("while routing its frame: ") + e.what());
  }
  return false;
}

bool reactor::route_validated(link& from, kj::ArrayPtr<const capnp::word> frame) {
  std::optional<wire::envelope_reader> env;
  try {
    env.emplace(frame, limits_);
  } catch (const wire::protocol_error& e) {
    protocol_failure(from, e.what());
    return false;
  }
  auto envelope = env->get();
  if (envelope.getFrom() != from.id) {
    protocol_failure(from, "frame claims to come from actor " + std::to_string(envelope.getFrom()));
    return false;
  }
  if (envelope.getFdCount() != 0) {
    protocol_failure(from, "workers may not pass descriptors through the node");
    return false;
  }
  std::size_t messages = wire::message_count(envelope);
  from.messages_out += messages;
  uint64_t to_id = envelope.getTo();
  if (to_id == 0) {
    to_node(from, envelope, frame);
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
      to->append_locked(frame, messages);
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
  park(from, *to, frame);
  return false;
}

void reactor::park(link& from, link& to, kj::ArrayPtr<const capnp::word> frame) {
  from.parked = std::make_unique<wire::owned_frame>(frame, limits_);
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
    update_events_locked(l);
  }
  // Counted when it was first routed.
  std::size_t messages = wire::message_count(frame->envelope());
  bool delivered = route(l, frame->words());
  l.messages_out -= messages;
  if (delivered) route_buffered(l);
  if (l.reaped && !l.parked) {
    if (auto exited = find(l.id)) on_exit(exited);  // reads what is left, then finishes the exit
  }
}

void reactor::to_node(link& from, schema::Envelope::Reader env, kj::ArrayPtr<const capnp::word> frame) {
  switch (env.which()) {
    case schema::Envelope::RESPONSE:
    case schema::Envelope::FAILURE: {
      std::shared_ptr<pending_request> request;
      {
        std::lock_guard lock(from.mutex);
        auto it = from.pending.find(env.getCorrelation());
        if (it == from.pending.end()) return;  // its requester timed out and left
        request = std::move(it->second);
        from.pending.erase(it);
      }
      if (env.isResponse()) {
        request->complete(std::make_unique<wire::owned_frame>(frame, limits_));
      } else {
        auto failure = env.getFailure();
        std::optional<exit_reason> why;
        if (failure.hasReason()) why = wire::read_exit_reason(failure.getReason());
        request->complete(error(static_cast<errc>(failure.getCode()), failure.getMessage(), why));
      }
      return;
    }
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

void reactor::protocol_failure(link& l, const std::string& what) {
  std::string text = "actor '" + l.name + "' (id " + std::to_string(l.id) + ", pid " + std::to_string(l.pid) +
                     "): protocol error: " + what + "; link closed, actor killed";
  hooks_.log(text);
  stop_reading(l);
  std::lock_guard lock(l.mutex);
  if (!l.imposed) l.imposed = exit_reason::because(exit_reason::kind::protocol_error, what);
  if (l.pidfd) process::signal_process(l.pidfd.get(), SIGKILL);
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

int reactor::check_heartbeats() {
  std::vector<std::shared_ptr<link>> watched;
  {
    std::lock_guard lock(links_mutex_);
    std::erase_if(heartbeat_links_, [&](uint64_t id) { return !links_.count(id); });
    for (uint64_t id : heartbeat_links_) watched.push_back(links_[id]);
  }
  auto now = std::chrono::steady_clock::now();
  auto next = std::chrono::steady_clock::time_point::max();
  for (auto& l : watched) {
    if (l->heartbeat_due <= now) {
      if (l->heartbeat_outstanding != 0) {
        hooks_.log("actor '" + l->name + "' (id " + std::to_string(l->id) + ") did not answer a heartbeat within " +
                   std::to_string(l->heartbeat.timeout.count()) + " ms; killed as hung");
        std::lock_guard lock(l->mutex);
        if (!l->imposed) {
          l->imposed =
              exit_reason::because(exit_reason::kind::hung, "no heartbeat answer within " +
                                                                std::to_string(l->heartbeat.timeout.count()) + " ms");
        }
        l->death_seen = true;
        if (l->pidfd) process::signal_process(l->pidfd.get(), SIGKILL);
        l->heartbeat_due = std::chrono::steady_clock::time_point::max();  // its pidfd takes over
        continue;
      }
      l->heartbeat_outstanding = ++heartbeat_sequence_;
      l->heartbeat_due = now + l->heartbeat.timeout;
      wire::envelope_builder out;
      out.address(l->id, 0, 0);
      out.envelope().initSystem().setHeartbeat(l->heartbeat_outstanding);
      (void)l->enqueue(out.message(), {}, delivery::ahead);
    }
    next = std::min(next, l->heartbeat_due);
  }
  if (next == std::chrono::steady_clock::time_point::max()) return -1;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
  return static_cast<int>(std::clamp<long long>(wait, 0, 60000));
}

void reactor::stop_reading(link& l) {
  if (!l.socket_open) return;
  std::lock_guard lock(l.mutex);
  l.socket_open = false;
  l.death_seen = true;  // the end of its stream, a protocol failure (it is killed), or its exit
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, l.socket.get(), nullptr);
}

void reactor::on_exit(const std::shared_ptr<link>& l) {
  // Whatever it sent before dying (its exit announcement above all) is read first.
  for (int reads = 0; l->socket_open && !l->parked && reads < 1024; ++reads) {
    std::size_t before = l->in.buffered_bytes();
    read_and_route(*l);
    if (l->socket_open && l->in.buffered_bytes() == before) break;
  }
  if (!l->reaped) {
    l->reaped = process::try_reap(l->pidfd.get());
    if (!l->reaped) return;  // not exited yet (a spurious wake-up)
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, l->pidfd.get(), nullptr);
    std::lock_guard lock(l->mutex);
    l->death_seen = true;  // even while a frame it sent still waits for room below
  }
  // A frame it sent still waits for room at its destination: nothing a dead
  // actor sent is dropped, so its exit is finished by resume(), once that
  // frame and the rest of its stream are delivered (or the destination dies).
  if (l->parked) return;
  stop_reading(*l);

  exit_reason reason;
  {
    std::lock_guard lock(l->mutex);
    reason = decide_exit_reason({*l->reaped, l->imposed, l->announced, l->stop_reason});
  }
  // Out of the table before anyone can see the exit: after join(), size() and
  // find() already agree that the actor is gone.
  {
    std::lock_guard lock(links_mutex_);
    links_.erase(l->id);
    graveyard_[l->id] = reason;
    graveyard_order_.push_back(l->id);
    if (graveyard_order_.size() > graveyard_size) {
      graveyard_.erase(graveyard_order_.front());
      graveyard_order_.pop_front();
    }
  }
  std::unordered_map<uint64_t, std::shared_ptr<pending_request>> pending;
  std::vector<uint64_t> watchers;
  {
    std::lock_guard lock(l->mutex);
    l->final_reason = reason;
    l->state = link_state::exited;
    // Both descriptors close before anyone can see the exit: a joiner that
    // counts descriptors right after join() must not find them.
    l->pidfd.reset();
    l->socket.reset();
    l->out.clear();
    pending.swap(l->pending);
    watchers.swap(l->watchers);
  }
  l->changed.notify_all();

  error down(errc::actor_down, "actor '" + l->name + "' (id " + std::to_string(l->id) + ") exited", reason);
  for (auto& [correlation, request] : pending) request->complete(down);
  // Workers waiting for an answer from it hear at once, as the node's own requests do.
  for (auto& [requester, correlation] : l->inflight) {
    if (auto waiting = find(requester)) {
      answer_failure(*waiting, l->id, correlation, errc::actor_down, "actor '" + l->name + "' exited before answering",
                     reason);
    }
  }
  l->inflight.clear();
  for (uint64_t id : watchers) {
    auto watcher = find(id);
    if (!watcher) continue;
    wire::envelope_builder out;
    out.address(id, 0, 0);
    auto notice = out.envelope().initSystem().initDown();
    notice.setActor(l->id);
    wire::write_exit_reason(notice.initReason(), reason);
    watcher->enqueue(out.message(), {}, delivery::in_order);
  }
  wake_parked(*l);  // senders parked on it: their requests fail, their one-way messages are dropped

  // The one report of this exit to the host: a CAF message to its proxy, whose
  // exit reaches every monitor (supervisors, pools, actor_handle::monitor, join).
  if (hooks_.exited) hooks_.exited(*l);
  links_changed_.notify_all();
}

}  // namespace actorproc::detail
