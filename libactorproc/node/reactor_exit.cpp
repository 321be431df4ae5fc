// How the reactor finishes an actor: a protocol failure, the end of its
// stream, and its exit once reaped (the reason decided by exit_decision.hpp,
// reported once to the host as a CAF message through the exit hook).
#include "reactor.hpp"

#include <actorproc/node/exit_decision.hpp>

#include <actorproc/process/pidfd.hpp>

#include <signal.h>
#include <sys/epoll.h>

namespace actorproc::detail {
namespace {

// How many exit reasons of dead actors are remembered.
constexpr std::size_t graveyard_size = 4096;
// Reads of an exited actor's socket before its exit is finished anyway. Its
// socket buffer holds at most a few MiB, and reads grow to 64 KiB and more.
constexpr int max_reads_at_exit = 4096;

}  // namespace

void reactor::protocol_failure(link& l, const std::string& what) {
  std::string text = "actor '" + l.name + "' (id " + std::to_string(l.id) + ", pid " + std::to_string(l.pid) +
                     "): protocol error: " + what + "; link closed, actor killed";
  hooks_.log(text);
  stop_reading(l);
  std::lock_guard lock(l.mutex);
  if (!l.imposed) l.imposed = exit_reason::because(exit_reason::kind::protocol_error, what);
  if (l.pidfd) process::signal_process(l.pidfd.get(), SIGKILL);
}

void reactor::stop_reading(link& l) {
  if (!l.socket_open) return;
  std::lock_guard lock(l.mutex);
  l.socket_open = false;
  l.death_seen = true;  // the end of its stream, a protocol failure (it is killed), or its exit
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, l.socket.get(), nullptr);
}

void reactor::on_exit(const std::shared_ptr<link>& l) {
  {
    std::lock_guard lock(l->mutex);
    if (l->host_reading) {
      // A host thread reads what it sent (its answer, maybe): the exit is
      // finished once it hands the link back. Unwatched meanwhile, since a
      // pidfd stays readable.
      l->exit_deferred = true;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, l->pidfd.get(), nullptr);
      return;
    }
    l->reactor_reading = true;  // to the end: the socket closes below
  }
  struct reading_done {
    link& l;
    ~reading_done() { l.end_reactor_read(); }
  } done{*l};
  // Whatever it sent before dying (its exit announcement above all) is read
  // first, to the end of its stream: a read that brought bytes may have left
  // exactly as many buffered as before (it completed one frame and began the
  // next), so only a read that found nothing means the end. A frame that must
  // wait for room ends the loop too: resume() comes back here.
  for (int reads = 0; l->socket_open && !l->parked && read_and_route(*l); ++reads) {
    if (reads == max_reads_at_exit) {
      // Only a process that shares its socket (a grandchild that inherited it)
      // can keep writing after the actor's exit; it does not hold the reactor.
      hooks_.log("actor '" + l->name + "' (id " + std::to_string(l->id) +
                 "): its socket still had data after its exit; the rest is dropped");
      break;
    }
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
    l->batch.close_into(l->out);  // lost with the process, as what was still buffered
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
