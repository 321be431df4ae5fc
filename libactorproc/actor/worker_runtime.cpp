// The worker runtime: one actor's loop inside its process, and the context its
// handlers use. It decides what runs next (a due timer, a ready watch, a
// message kept while a request waited, stop and heartbeat ahead of a backlog,
// the next frame), dispatches it, waits for answers to the actor's own
// requests, and turns a crash into the actor's exit reason and status.
//
// It owns no I/O mechanism of its own: the sockets, their buffers and batching
// are the channel set's (channel.hpp), timers, watches and the wait are the
// event port's (event_port.hpp), and how an end becomes a reason and a status
// is worker_exit.hpp's, and what arrives while a request waits is kept in the
// answer stash (answer_stash.hpp).

#include "worker_runtime.hpp"

#include "answer_stash.hpp"
#include "channel.hpp"
#include "worker_exit.hpp"

#include <actorproc/actor/causal_gate.hpp>
#include <actorproc/actor/event_port.hpp>
#include <actorproc/actor/system_lane.hpp>
#include <actorproc/actor/wait_hooks.hpp>
#include <actorproc/actor/worker.hpp>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace actorproc::detail {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Looking behind a mailbox backlog for stop and heartbeat (system_lane.hpp),
// the worker reads its socket only while less than this is buffered, so that
// the backlog held in the worker stays bounded. Twice the node's default
// mailbox bound: a stop overtakes a full mailbox plus what its socket holds.
constexpr std::size_t look_behind_read_limit = 2 << 20;
// How long the final exit announcement may take to leave.
constexpr auto exit_flush_timeout = 1000ms;

class worker_runtime final : public context, channel_failures {
 public:
  worker_runtime(const process::launch_request& request, unique_fd mailbox, std::vector<unique_fd> extras,
                 const wire::limits& limits)
      : context(request.id, request.name, request.args, std::move(extras)),
        limits_(limits),
        channels_(std::move(mailbox), limits, *this, filling_) {}

  int run(const entry_table& actors, const std::string& type) {
    const actor_factory* factory = actors.find(type);
    if (factory == nullptr) return refuse("no actor type '" + type + "' is registered in this program");
    wait_hooks::scope hooks_in_use(hooks_);  // the actor's pipe ends flush before it waits
    try {
      actor_ = (*factory)(*this);
    } catch (...) {
      return refuse("constructor threw: " + crash_reason(std::current_exception()).detail);
    }
    send_system([](schema::System::Builder s) { s.setReady(); });

    while (!stopping_) step();

    try {
      actor_.reset();  // its destructor may still send
    } catch (...) {
    }
    announce_exit();
    return status_;
  }

  /// Tells the node that this actor cannot start, and why; returns the status to exit with.
  int refuse(const std::string& why) {
    log(why);
    reason_ = exit_reason::because(exit_reason::kind::launch_failed, why);
    announce_exit();
    return exit_status_for(reason_);
  }

  void stop() override { stop(exit_reason::normal()); }
  void stop(const exit_reason& reason) override {
    stopping_ = true;
    reason_ = reason;
    status_ = exit_status_for(reason);  // the kernel's status says the same, in case the announcement is lost
  }

  void monitor(actor_ref who) override {
    send_system([&](schema::System::Builder s) { s.setMonitor(who.id); });
  }

  uint64_t after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    return port_.after(delay, std::move(fn));
  }
  void cancel(uint64_t timer_id) override { port_.cancel(timer_id); }
  void watch_fd(int fd, short events, std::function<void(short)> on_ready) override {
    port_.watch(fd, events, std::move(on_ready));
  }
  void unwatch_fd(int fd) override { port_.unwatch(fd); }
  std::size_t unsent_bytes() const override { return channels_.unsent_bytes(); }

 protected:
  expected<wire::batch_builder*> open_batch(actor_ref to, std::chrono::milliseconds timeout) override {
    return channels_.open_batch(to.id, id(), timeout);
  }
  wire::batch_builder* unsent_batch(actor_ref to) override { return channels_.unsent_batch(to.id, id()); }
  expected<void> added_to_batch(wire::batch_builder& batch, unsigned index, bool nested) override {
    return channels_.added_to_batch(batch, index, nested);
  }

  expected<wire::frame_ptr> call(actor_ref to, wire::envelope_builder& out, std::chrono::milliseconds timeout,
                                 std::vector<unique_fd> fds) override {
    auto deadline = clock::now() + timeout;
    uint64_t correlation = next_correlation_++;
    out.address(to.id, id(), correlation);
    channel& ch = channels_.route(to.id);
    if (auto room = channels_.make_room(ch, timeout); !room) return room.error();
    if (auto sent = channels_.append_within_frame(channels_.output(ch), out, "request", std::move(fds)); !sent) {
      return sent.error();
    }
    return await_answer(ch.peer, correlation, deadline);
  }

  expected<void> post(actor_ref to, wire::envelope_builder& out, std::vector<unique_fd> fds,
                      std::chrono::milliseconds timeout) override {
    out.address(to.id, id(), 0);
    channel& ch = channels_.route(to.id);
    if (auto room = channels_.make_room(ch, timeout); !room) return room.error();
    return channels_.append_within_frame(channels_.output(ch), out, "message", std::move(fds));
  }
  bool adopt_channel(actor_ref peer) override {
    channel* ch = channels_.find(peer.id);  // an introduction that came while a request waited is adopted already
    return ch != nullptr && !ch->closed;
  }

  int mailbox_descriptor() const override { return channels_.mailbox().fd.get(); }

  void answer(const deferred_reply& pending, wire::envelope_builder& out) override {
    channels_.append_answer(channels_.route(pending.channel), out, {});
  }

  void respond(wire::envelope_builder& out, std::vector<unique_fd> fds) override {
    if (current_correlation_ == 0 || replied_) return;
    replied_ = true;
    out.address(current_sender_, id(), current_correlation_);
    channels_.append_answer(channels_.route(current_channel_), out, std::move(fds));
  }

 private:
  // One turn of the loop: run a due timer, handle one buffered frame, or wait
  // for input. Due timers and messages take turns, so that a timer that
  // re-arms itself at once cannot starve requests, heartbeats or a stop.
  void step() {
    channels_.drop_closed();  // only here: no handler is running, so no frame of theirs is in use
    // This runs once per message: the clock is read only while a timer is set.
    auto now = port_.has_timers() ? clock::now() : clock::time_point{};
    bool timer_due = port_.timer_due(now);
    if (timer_due && !timer_ran_last_) {
      timer_ran_last_ = true;
      auto fn = port_.take_due_timer(now);
      run_guarded([&] { fn(); });
      return;
    }
    timer_ran_last_ = false;
    if (run_ready_watch()) return;
    if (!stash_.empty()) {
      auto [peer, frame] = stash_.pop();
      handle(frame->words(), channels_.find(peer), frame->take_fds());  // its descriptors were taken when it came
      return;
    }
    look_behind_mailbox_backlog();
    if (auto first = lane_.take()) {
      handle(first->words(), &channels_.mailbox(), std::vector<unique_fd>{});  // stop and heartbeat carry none
      return;
    }
    // A direct frame owed before the mailbox's next one goes first (causal_gate.hpp).
    std::size_t owed = channels_.owed_before_mailbox(gate_);
    for (std::size_t k = 0; k < channels_.size(); ++k) {
      std::size_t i = k == 0 ? owed : k == owed ? 0 : k;
      channel& ch = channels_[i];
      std::optional<kj::ArrayPtr<const capnp::word>> frame;
      uint64_t position = ch.in.position();
      if (!channels_.next_frame(ch, frame)) return;
      if (frame && i == 0 && lane_.taken_ahead(position, frame->size() * sizeof(capnp::word))) return;
      if (frame) {
        busy_ = true;
        ch.in.hold();
        handle(*frame, &ch, std::nullopt);
        ch.in.release();
        return;
      }
    }
    // Nothing buffered: with a timer due, only look at what has arrived; else wait until the next timer.
    wait_for_input(timer_due ? 0ms : port_.has_timers() ? port_.until_next_timer(clock::now()) : -1ms);
  }

  // Stop and heartbeat go ahead of a backlog in the worker too (system_lane.hpp).
  void look_behind_mailbox_backlog() {
    channel& mailbox = channels_.mailbox();
    // This runs once per message: the clock is read only while a backlog exists.
    std::size_t buffered = mailbox.in.buffered_bytes();
    if (!lane_.due(buffered, buffered == 0 ? clock::time_point{} : clock::now())) return;
    // Drain the socket (the node wrote its stop or heartbeat ahead of its own
    // backlog, so it is at most a socket's worth behind), within the bound.
    while (mailbox.in.buffered_bytes() < look_behind_read_limit && !mailbox.closed &&
           channels_.read(mailbox) == wire::read_status::data) {
    }
    lane_.scan(mailbox.in, limits_);
  }

  // Runs the callback of one descriptor that the last wait found ready.
  bool run_ready_watch() {
    auto ready = port_.take_ready();
    if (!ready) return false;
    if (ready->revents & POLLNVAL) {
      log("watched descriptor " + std::to_string(ready->fd) + " was closed before unwatch_fd(); watch dropped");
    }
    run_guarded(*ready);
    return true;
  }

  // Flushes every channel, then blocks until one is readable (or the timeout).
  void wait_for_input(std::chrono::milliseconds timeout) {
    run_wait_hooks();
    bool flushed = channels_.poll_set(poll_fds_);
    // Nothing but input can need attention: no timer, no watch, no output
    // waiting, and no other channel that a blocking read would keep waiting.
    if (flushed && timeout.count() < 0 && !port_.has_watches() && channels_.size() == 1 && read_busy_mailbox()) {
      return;
    }
    if (port_.wait(poll_fds_, timeout) > 0) channels_.absorb(poll_fds_);
  }

  // Writes what the actor's pipe ends hold before it waits (wait_hooks.hpp).
  void run_wait_hooks() {
    hooks_.run_before_wait([this] { channels_.flush_all(); });
  }

  // Waits for input in recvmsg on the mailbox, without poll: one system call
  // where poll + recvmsg take two (a tenth of a round trip on this kind of VM).
  // Only while the mailbox is busy and the only channel: a blocking read on one
  // of several keeps the others waiting (a lock shared by two connected
  // clients ran 33x slower). False: poll instead.
  bool read_busy_mailbox() {
    if (!busy_) return false;
    if (channels_.read(channels_.mailbox(), true) == wire::read_status::would_block) {  // the slice passed: quiet now
      busy_ = false;
      return false;
    }
    return true;
  }

  // `taken`: the frame's descriptors if they were taken from the stream
  // already (a stashed frame's), else nullopt: they come from `origin` now.
  void handle(kj::ArrayPtr<const capnp::word> frame, channel* origin, std::optional<std::vector<unique_fd>> taken) {
    if (origin == nullptr) origin = &channels_.mailbox();
    std::optional<wire::envelope_reader> env;
    try {
      env.emplace(frame, limits_);
    } catch (const wire::protocol_error& e) {
      protocol_failure(*origin, e.what());
      return;
    }
    auto envelope = env->get();
    std::vector<unique_fd> fds = taken ? std::move(*taken) : take_fds(origin->in, envelope.getFdCount());

    switch (envelope.which()) {
      case schema::Envelope::USER:
        current_fds_ = std::move(fds);
        dispatch(envelope.getFrom(), envelope.getCorrelation(), envelope.getUser(), *origin);
        current_fds_.clear();
        break;
      case schema::Envelope::BATCH:
        for (auto payload : envelope.getBatch()) {
          if (stopping_) break;  // as between two frames: a stopping actor handles nothing more
          dispatch(envelope.getFrom(), 0, payload, *origin);
        }
        break;
      case schema::Envelope::SYSTEM:
        handle_system(envelope.getSystem(), std::move(fds));
        break;
      default:
        break;  // a late answer to a request that timed out: nobody waits for it
    }
  }

  void dispatch(uint64_t from, uint64_t correlation, schema::Payload::Reader payload, channel& origin) {
    current_sender_ = from;
    current_correlation_ = correlation;
    current_channel_ = origin.peer;
    replied_ = false;
    run_guarded([&] {
      if (!actor_->dispatch(payload.getTypeId(), payload.getBody(), *this)) {
        std::string what = "actor '" + name() + "' has no handler for schema type " + type_id_text(payload.getTypeId());
        if (current_correlation_ != 0) {
          fail_current(errc::unhandled_message, what);
        } else {
          log(what + "; one-way message dropped");
        }
      } else if (current_correlation_ != 0 && !replied_) {
        fail_current(errc::no_reply, "actor '" + name() + "' returned from a request handler without replying");
      }
    });
    current_correlation_ = 0;
    current_channel_ = 0;
  }

  // Runs actor code; an exception escaping it crashes the actor ("let it crash").
  template <class F>
  void run_guarded(F&& f) {
    try {
      f();
    } catch (...) {
      crash(crash_reason(std::current_exception()));
    }
  }

  void handle_system(schema::System::Reader system, std::vector<unique_fd> fds) {
    switch (system.which()) {
      case schema::System::STOP:
        // The node knows why it stopped the actor; the status says the actor obeyed.
        stopping_ = true;
        reason_ = wire::read_exit_reason(system.getStop());
        break;
      case schema::System::HEARTBEAT: {
        uint64_t beat = system.getHeartbeat();
        send_system([&](schema::System::Builder s) { s.setHeartbeat(beat); });
        channels_.flush(channels_.mailbox());  // now, not after whatever backlog is left to handle
        break;
      }
      case schema::System::DOWN: {
        auto down = system.getDown();
        run_guarded([&] { actor_->down({down.getActor()}, wire::read_exit_reason(down.getReason()), *this); });
        break;
      }
      case schema::System::PEER:
        if (!fds.empty()) channels_.add(system.getPeer(), std::move(fds[0]));
        break;
      default:
        break;
    }
  }

  // Waits for the answer to `correlation`, keeping every other message for later.
  expected<wire::frame_ptr> await_answer(uint64_t sent_to_peer, uint64_t correlation, clock::time_point deadline) {
    for (;;) {
      if (auto answer = stash_.collect(channels_, correlation, limits_, *this)) return std::move(*answer);
      if (stopping_ && reason_.what == exit_reason::kind::protocol_error) {
        return error(errc::protocol_error, "the mailbox is broken");
      }
      if (stash_.over_limit()) {
        return error(errc::mailbox_full, "more than " + std::to_string(answer_stash::limit) +
                                             " bytes of messages arrived while waiting for an answer");
      }
      channel* target = channels_.find(sent_to_peer);
      if (target == nullptr || target->closed) {
        return error(errc::actor_down, sent_to_peer ? "the direct channel to the actor closed" : "the node is gone");
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) return error(errc::timeout, "no answer from actor within the timeout");
      run_wait_hooks();  // the answer may depend on what the actor's pipe ends still hold
      if (left >= receive_slice && channels_.flush_all()) {
        // The answer comes on the channel the request left by: wait for it in
        // recvmsg itself (one system call, where poll + recvmsg take two). The
        // socket's SO_RCVTIMEO slice keeps the deadline honest.
        channels_.read(*target, true);
      } else {
        wait_for_input(left);
      }
    }
  }

  template <class Fill>
  void send_system(Fill&& fill) {
    wire::envelope_builder out;
    out.address(0, id(), 0);
    fill(out.envelope().initSystem());
    channels_.output(channels_.mailbox()).append(out.message());  // system messages are never refused
  }

  void fail_current(errc code, const std::string& what) {
    wire::envelope_builder out;
    out.address(current_sender_, id(), current_correlation_);
    out.init_failure(code, what);
    channels_.append_answer(channels_.route(current_channel_), out, {});
    replied_ = true;
  }

  void crash(const exit_reason& why) {
    if (current_correlation_ != 0 && !replied_) fail_current(errc::handler_exception, why.detail);
    log("handler threw: " + to_string(why));
    stop(why);
  }

  void protocol_failure(channel& ch, const std::string& what) override {
    if (ch.peer != 0) {
      log("closing the direct channel to actor " + std::to_string(ch.peer) + ": " + what);
      ch.closed = true;
      return;
    }
    log("protocol error on the mailbox: " + what);
    stop(exit_reason::because(exit_reason::kind::protocol_error, what));
  }

  // Nobody is left to serve; the status stays what it was (a crash before it stays a crash).
  void mailbox_closed() override {
    stopping_ = true;
    reason_ = exit_reason::shutdown();
  }

  void announce_exit() {
    send_system([&](schema::System::Builder s) { wire::write_exit_reason(s.initExit(), reason_); });
    channels_.flush_before_exit(exit_flush_timeout);
  }

  void log(const std::string& what) const {
    std::fprintf(stderr, "actorproc: actor '%s' (id %llu): %s\n", name().c_str(), static_cast<unsigned long long>(id()),
                 what.c_str());
  }

  wire::limits limits_;
  channel_set channels_;
  event_port port_;
  std::vector<pollfd> poll_fds_;  // the channels' part of a wait, kept to spare an allocation per wait
  bool busy_ = true;              // a frame came since the mailbox was last quiet for a slice
  bool timer_ran_last_ = false;   // the last turn ran a timer: the next one serves messages
  system_lane lane_;              // stop and heartbeat taken ahead of the mailbox's backlog
  causal_gate gate_;              // direct frames owed before the mailbox's next frame
  wait_hooks hooks_;  // the actor's pipe ends with output pending (wait_hooks.hpp); outlives actor_
  std::unique_ptr<behavior> actor_;
  answer_stash stash_;  // what arrived while a request waited
  uint64_t next_correlation_ = 1;
  bool stopping_ = false;
  exit_reason reason_;
  int status_ = 0;
};

}  // namespace

int run_actor(const entry_table& actors, const process::launch_request& request, unique_fd mailbox,
              std::vector<unique_fd> extra_fds, const wire::limits& limits) {
  worker_runtime runtime(request, std::move(mailbox), std::move(extra_fds), limits);
  return runtime.run(actors, request.actor_type);
}

int refuse_launch(const process::launch_request& request, unique_fd mailbox, const std::string& why) {
  worker_runtime runtime(request, std::move(mailbox), {}, wire::limits{});
  return runtime.refuse(why);
}

}  // namespace actorproc::detail
