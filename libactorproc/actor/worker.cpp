#include <actorproc/actor/worker.hpp>

#include <actorproc/actor/system_lane.hpp>
#include <actorproc/wire/blocking_io.hpp>

#include <kj/exception.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>

namespace actorproc {
namespace detail {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// The worker's own output buffer per channel. A send beyond it waits for the
// socket (backpressure) up to its timeout.
constexpr std::size_t output_limit = 1 << 20;
// Flush early once this much is buffered, to overlap writing with the reader.
constexpr std::size_t flush_threshold = 64 * 1024;
// Messages that arrive while a request() waits are kept up to this many bytes.
constexpr std::size_t stash_limit = 16 << 20;
// A requester blocked in recvmsg looks up at least this often (deadline, other channels).
constexpr std::chrono::milliseconds receive_slice{50};
// The same for a direct channel: a requester waiting on one keeps the others
// (whose frames it stashes) waiting at most this long.
constexpr std::chrono::milliseconds peer_receive_slice{2};
// Looking behind a mailbox backlog for stop and heartbeat (system_lane.hpp),
// the worker reads its socket only while less than this is buffered, so that
// the backlog held in the worker stays bounded. Twice the node's default
// mailbox bound: a stop overtakes a full mailbox plus what its socket holds.
constexpr std::size_t look_behind_read_limit = 2 << 20;
// How long the final exit announcement may take to leave.
constexpr auto exit_flush_timeout = 1000ms;

// One socket the worker reads and writes: its mailbox (to the node) or a
// direct channel to a peer actor.
struct channel {
  uint64_t peer = 0;  // 0: the mailbox
  unique_fd fd;
  wire::frame_decoder in;
  wire::frame_writer out;
  wire::batch_builder batch;  // one-way messages not yet framed into `out`
  bool closed = false;
  bool write_blocked = false;  // the last send found the socket full: wait for POLLOUT before trying again

  channel(uint64_t p, unique_fd f, const wire::limits& lim) : peer(p), fd(std::move(f)), in(lim) {
    // A blocking receive returns after this slice at the latest.
    auto limit = peer == 0 ? receive_slice : peer_receive_slice;
    timeval slice{0, static_cast<suseconds_t>(std::chrono::microseconds(limit).count())};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof slice);
  }
};

class worker_loop final : public context {
 public:
  worker_loop(const process::launch_request& request, unique_fd mailbox, std::vector<unique_fd> extras,
              const wire::limits& lim)
      : context(request.id, request.name, request.args, std::move(extras)), limits_(lim) {
    channels_.push_back(std::make_unique<channel>(0, std::move(mailbox), lim));
  }

  int run(const entry_table& actors, const std::string& type) {
    const actor_factory* factory = actors.find(type);
    if (factory == nullptr) return fail_launch("no actor type '" + type + "' is registered in this program");
    try {
      actor_ = (*factory)(*this);
    } catch (const std::exception& e) {
      return fail_launch(std::string("constructor threw: ") + e.what());
    } catch (const kj::Exception& e) {
      return fail_launch(std::string("constructor threw: ") + e.getDescription().cStr());
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
  int refuse(const std::string& why) { return fail_launch(why); }

  void stop() override {
    stopping_ = true;
    reason_ = exit_reason::normal();
  }

  void stop(const exit_reason& reason) override {
    stopping_ = true;
    reason_ = reason;
    // The kernel's status says the same as the announcement, in case it is lost.
    switch (reason.what) {
      case exit_reason::kind::normal:
      case exit_reason::kind::shutdown:
        status_ = 0;
        break;
      case exit_reason::kind::exit_code:
        status_ = reason.code != 0 ? reason.code : 1;
        break;
      case exit_reason::kind::signal:
        status_ = 128 + reason.signal;  // the shell's convention
        break;
      default:
        status_ = worker_status::exception;
        break;
    }
  }

  void monitor(actor_ref who) override {
    send_system([&](schema::System::Builder s) { s.setMonitor(who.id); });
  }

 protected:
  expected<wire::batch_builder*> open_batch(actor_ref to, std::chrono::milliseconds timeout) override {
    // A burst to one actor finds its batch here without looking up the route.
    if (batching_ != nullptr && batching_->batch.accepts(to.id, id())) return &batching_->batch;
    channel& ch = route(to.id);
    if (ch.batch.accepts(to.id, id())) {
      batching_ = &ch;
      return &ch.batch;
    }
    if (auto room = make_room(ch, timeout); !room) return room.error();
    output(ch);  // frames the batch to another destination, if one is open
    ch.batch.open(to.id, id());
    batching_ = &ch;
    return &ch.batch;
  }

  expected<void> added_to_batch(wire::batch_builder& batch, unsigned index, bool nested) override {
    std::size_t bytes = batch.size_bytes();
    if (bytes + frame_table_bytes() > limits_.max_frame_bytes) {
      if (nested) {
        // Compacting the batch would invalidate the builder being filled: a usage error.
        batch.drop(index, false);
        throw std::logic_error("a message too large for a frame was sent from inside another send's fill function");
      }
      batch.drop(index);
      return error(errc::too_large, "a one-way message of about " + std::to_string(bytes) +
                                        " bytes (with its batch) exceeds the frame limit of " +
                                        std::to_string(limits_.max_frame_bytes) + " bytes; not sent");
    }
    bool full = bytes >= wire::batch_builder::close_at_bytes || batch.at_capacity();
    if (nested || !full) return {};
    for (auto& ch : channels_) {
      if (&ch->batch != &batch) continue;
      if (output(*ch).size() >= flush_threshold) flush(*ch);
      break;
    }
    return {};
  }

  expected<wire::frame_ptr> call(actor_ref to, wire::envelope_builder& out,
                                 std::chrono::milliseconds timeout) override {
    auto deadline = clock::now() + timeout;
    uint64_t correlation = next_correlation_++;
    out.address(to.id, id(), correlation);
    channel& ch = route(to.id);
    if (auto room = make_room(ch, timeout); !room) return room.error();
    if (auto sent = append_within_frame(output(ch), out, "request"); !sent) return sent.error();
    return await_answer(ch, correlation, deadline);
  }

  int mailbox_descriptor() const override { return channels_[0]->fd.get(); }

  void answer(const deferred_reply& pending, wire::envelope_builder& out) override {
    channel* ch = find_channel(pending.channel);
    auto& to = output(ch != nullptr && !ch->closed ? *ch : *channels_[0]);
    if (auto sent = append_within_frame(to, out, "reply"); !sent) {
      wire::envelope_builder failure;
      failure.address(pending.to, id(), pending.correlation);
      failure.init_failure(errc::too_large, sent.error().message);
      to.append(failure.message());
    }
  }

  uint64_t after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    uint64_t id = next_timer_++;
    timers_.emplace(clock::now() + delay, timer{id, std::move(fn)});
    return id;
  }

  void watch_fd(int fd, short events, std::function<void(short)> on_ready) override {
    auto fn = std::make_shared<std::function<void(short)>>(std::move(on_ready));
    for (auto& w : watches_) {
      if (w.fd == fd) {
        w.events = events;
        w.ready = 0;  // what the last wait saw was for the old events
        w.fn = std::move(fn);
        return;
      }
    }
    watches_.push_back({fd, events, 0, std::move(fn)});
  }

  void unwatch_fd(int fd) override {
    std::erase_if(watches_, [fd](const fd_watch& w) { return w.fd == fd; });
  }

  std::size_t unsent_bytes() const override {
    std::size_t total = 0;
    for (const auto& ch : channels_) total += ch->closed ? 0 : ch->out.size() + ch->batch.size_bytes();
    return total;
  }

  void cancel(uint64_t timer_id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second.id == timer_id) {
        timers_.erase(it);
        return;
      }
    }
  }

  void respond(wire::envelope_builder& out) override {
    if (current_correlation_ == 0 || replied_) return;
    replied_ = true;
    out.address(current_sender_, id(), current_correlation_);
    if (auto sent = append_within_frame(output(reply_channel()), out, "reply"); !sent) {
      fail_current(errc::too_large, sent.error().message);
    }
  }

 private:
  // One turn of the loop: run a due timer, handle one buffered frame, or wait
  // for input. Due timers and messages take turns, so that a timer that
  // re-arms itself at once cannot starve requests, heartbeats or a stop.
  void step() {
    drop_closed_channels();  // only here: no handler is running, so no frame of theirs is in use
    bool timer_due = !timers_.empty() && timers_.begin()->first <= clock::now();
    if (timer_due && !timer_ran_last_) {
      timer_ran_last_ = true;
      auto fn = std::move(timers_.begin()->second.fn);
      timers_.erase(timers_.begin());
      run_guarded([&] { fn(); });
      return;
    }
    timer_ran_last_ = false;
    if (run_ready_watch()) return;
    if (!stash_.empty()) {
      auto [peer, frame] = std::move(stash_.front());
      stash_.pop_front();
      stash_bytes_ -= frame->words().size() * sizeof(capnp::word);
      handle(frame->words(), find_channel(peer));
      return;
    }
    look_behind_mailbox_backlog();
    if (auto first = lane_.take()) {
      handle(first->words(), channels_[0].get());
      return;
    }
    for (std::size_t i = 0; i < channels_.size(); ++i) {
      channel& ch = *channels_[i];
      std::optional<kj::ArrayPtr<const capnp::word>> frame;
      uint64_t position = ch.in.position();
      if (!next_frame(ch, frame)) return;
      if (frame && i == 0 && lane_.taken_ahead(position, frame->size() * sizeof(capnp::word))) return;
      if (frame) {
        busy_ = true;
        ch.in.hold();
        handle(*frame, &ch);
        ch.in.release();
        return;
      }
    }
    // Nothing buffered: with a timer due, only look at what has arrived (its
    // turn is next); otherwise wait for input until the next timer.
    wait_for_input(timer_due       ? 0ms
                   : timers_.empty() ? -1ms
                                     : std::max(0ms, std::chrono::ceil<std::chrono::milliseconds>(
                                                         timers_.begin()->first - clock::now())));
  }

  // Stop and heartbeat go ahead of a backlog in the worker too (system_lane.hpp).
  void look_behind_mailbox_backlog() {
    channel& mailbox = *channels_[0];
    // This runs once per message: the clock is read only while a backlog exists.
    std::size_t buffered = mailbox.in.buffered_bytes();
    if (!lane_.due(buffered, buffered == 0 ? clock::time_point{} : clock::now())) return;
    // Drain the socket (the node wrote its stop or heartbeat ahead of its own
    // backlog, so it is at most a socket's worth behind), within the bound.
    while (mailbox.in.buffered_bytes() < look_behind_read_limit && !mailbox.closed &&
           read(mailbox) == wire::read_status::data) {
    }
    lane_.scan(mailbox.in, limits_);
  }

  // Runs the callback of one descriptor that the last wait found ready.
  bool run_ready_watch() {
    for (auto& w : watches_) {
      if (w.ready == 0) continue;
      short revents = std::exchange(w.ready, 0);
      int fd = w.fd;
      auto fn = w.fn;  // kept alive: the callback may unwatch its own descriptor
      if (revents & POLLNVAL) {
        log("watched descriptor " + std::to_string(fd) + " was closed before unwatch_fd(); watch dropped");
        unwatch_fd(fd);
      }
      run_guarded([&] { (*fn)(revents); });
      return true;
    }
    return false;
  }

  // False if the stream is broken (the worker is then stopping).
  bool next_frame(channel& ch, std::optional<kj::ArrayPtr<const capnp::word>>& frame) {
    try {
      frame = ch.in.next();
      return true;
    } catch (const wire::protocol_error& e) {
      protocol_failure(ch, e.what());
      return false;
    }
  }

  // Flushes every channel, then blocks until one is readable (or the timeout).
  void wait_for_input(std::chrono::milliseconds timeout) {
    std::vector<pollfd> fds;
    bool flushed = true;
    for (auto& ch : channels_) {
      short events = POLLIN;
      if (flush(*ch) == wire::flush_status::would_block) {
        events |= POLLOUT;
        flushed = false;
      }
      fds.push_back({ch->fd.get(), events, 0});
    }
    // Nothing but input can need attention: no timer, no watch, no output
    // waiting, and no other channel that a blocking read would keep waiting.
    if (flushed && timeout.count() < 0 && watches_.empty() && channels_.size() == 1 && read_busy_mailbox()) return;
    // Watches already known to be ready wait for their callback, not in poll
    // (a level-triggered descriptor would make a waiting request() spin).
    std::vector<fd_watch*> polled;
    for (auto& w : watches_) {
      if (w.ready != 0) continue;
      fds.push_back({w.fd, w.events, 0});
      polled.push_back(&w);
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (n <= 0) return;
    std::size_t channel_count = fds.size() - polled.size();
    for (std::size_t k = 0; k < polled.size(); ++k) polled[k]->ready = fds[channel_count + k].revents;
    for (std::size_t i = 0; i < channel_count; ++i) {
      if (fds[i].revents == 0) continue;
      channel& ch = *channels_[i];
      if (fds[i].revents & (POLLOUT | POLLERR | POLLHUP)) ch.write_blocked = false;
      if (fds[i].revents & POLLOUT) flush(ch);
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read(ch);
    }
  }

  // Waits for input in recvmsg on the mailbox, without poll: one system call
  // where poll + recvmsg take two, which is about a tenth of a round trip on
  // this kind of VM. Only while the mailbox is the worker's only channel and
  // busy: with direct channels open, a blocking read on any one of them would
  // keep the others waiting (a lock shared by two connected clients ran 33x
  // slower than routed when the worker did that), so then it polls them all.
  // False: poll instead.
  bool read_busy_mailbox() {
    if (!busy_) return false;
    if (read(*channels_[0], true) == wire::read_status::would_block) {  // the slice passed: quiet now
      busy_ = false;
      return false;
    }
    return true;
  }

  wire::read_status read(channel& ch, bool block = false) {
    wire::read_status status;
    try {
      status = ch.in.read_from(ch.fd.get(), block);
    } catch (const wire::protocol_error& e) {
      protocol_failure(ch, e.what());
      return wire::read_status::failed;
    }
    switch (status) {
      case wire::read_status::data:
      case wire::read_status::would_block:
        return status;
      case wire::read_status::truncated:
        if (ch.peer != 0) break;
        protocol_failure(ch, "the node closed the mailbox in the middle of a frame");
        return status;
      case wire::read_status::end_of_stream:
      case wire::read_status::failed:
        break;
    }
    if (ch.peer == 0) {
      // The node is gone (or closed our mailbox): nobody is left to serve.
      stopping_ = true;
      reason_ = exit_reason::shutdown();
    }
    ch.closed = true;
    return status;
  }

  void drop_closed_channels() {
    for (std::size_t i = 1; i < channels_.size();) {
      if (channels_[i]->closed && channels_[i]->in.buffered_bytes() == 0) {
        if (batching_ == channels_[i].get()) batching_ = nullptr;
        channels_.erase(channels_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }

  void handle(kj::ArrayPtr<const capnp::word> frame, channel* origin) {
    if (origin == nullptr) origin = channels_[0].get();
    std::optional<wire::envelope_reader> env;
    try {
      env.emplace(frame, limits_);
    } catch (const wire::protocol_error& e) {
      protocol_failure(*origin, e.what());
      return;
    }
    auto envelope = env->get();
    std::vector<unique_fd> fds;
    for (unsigned i = 0; i < envelope.getFdCount(); ++i) fds.push_back(origin->in.take_fd());

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
        std::string what = "actor '" + name() + "' has no handler for schema type " + hex(payload.getTypeId());
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
    } catch (const std::exception& e) {
      crash(e.what());
    } catch (const kj::Exception& e) {
      crash(e.getDescription().cStr());
    } catch (...) {
      crash("an exception of unknown type");
    }
  }

  void handle_system(schema::System::Reader system, std::vector<unique_fd> fds) {
    switch (system.which()) {
      case schema::System::STOP:
        stopping_ = true;
        reason_ = wire::read_exit_reason(system.getStop());
        break;
      case schema::System::HEARTBEAT: {
        uint64_t beat = system.getHeartbeat();
        send_system([&](schema::System::Builder s) { s.setHeartbeat(beat); });
        flush(*channels_[0]);  // now, not after whatever backlog is left to handle
        break;
      }
      case schema::System::DOWN: {
        auto down = system.getDown();
        run_guarded([&] { actor_->down({down.getActor()}, wire::read_exit_reason(down.getReason()), *this); });
        break;
      }
      case schema::System::PEER:
        if (!fds.empty()) channels_.push_back(std::make_unique<channel>(system.getPeer(), std::move(fds[0]), limits_));
        break;
      default:
        break;
    }
  }

  // Waits for the answer to `correlation`, keeping every other message for later.
  expected<wire::frame_ptr> await_answer(channel& sent_on, uint64_t correlation, clock::time_point deadline) {
    uint64_t sent_to_peer = sent_on.peer;
    for (;;) {
      for (auto& ch : channels_) {
        std::optional<kj::ArrayPtr<const capnp::word>> frame;
        while (next_frame(*ch, frame) && frame) {
          auto answer = take_if_answer(*frame, *ch, correlation);
          if (answer) return std::move(*answer);
        }
        if (stopping_ && reason_.what == exit_reason::kind::protocol_error) {
          return error(errc::protocol_error, "the mailbox is broken");
        }
      }
      if (stash_bytes_ > stash_limit) {
        return error(errc::mailbox_full, "more than " + std::to_string(stash_limit) +
                                             " bytes of messages arrived while waiting for an answer");
      }
      channel* target = find_channel(sent_to_peer);
      if (target == nullptr || target->closed) {
        return error(errc::actor_down, sent_to_peer ? "the direct channel to the actor closed" : "the node is gone");
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) return error(errc::timeout, "no answer from actor within the timeout");
      if (left >= receive_slice && flush_all()) {
        // The answer comes on the channel the request left by: wait for it in
        // recvmsg itself (one system call, where poll + recvmsg take two). The
        // socket's SO_RCVTIMEO slice keeps the deadline honest.
        read(*target, true);
      } else {
        wait_for_input(left);
      }
    }
  }

  // Flushes every channel; false if one of them is full.
  bool flush_all() {
    bool all = true;
    for (auto& ch : channels_) all &= flush(*ch) != wire::flush_status::would_block;
    return all;
  }

  // The answer to `correlation` if `frame` is it; otherwise the frame is stashed.
  std::optional<expected<wire::frame_ptr>> take_if_answer(kj::ArrayPtr<const capnp::word> frame, channel& ch,
                                                          uint64_t correlation) {
    try {
      // Either way the frame is kept, so copy it and check the copy: one parse.
      auto owned = std::make_unique<wire::owned_frame>(frame, limits_, wire::owned_frame::validate);
      auto env = owned->envelope();
      auto kind = env.which();
      bool answer = (kind == schema::Envelope::RESPONSE || kind == schema::Envelope::FAILURE) &&
                    env.getCorrelation() == correlation;
      if (!answer) {
        stash_bytes_ += frame.size() * sizeof(capnp::word);
        stash_.emplace_back(ch.peer, std::move(owned));
        return std::nullopt;
      }
      if (kind == schema::Envelope::RESPONSE) return expected<wire::frame_ptr>(std::move(owned));
      auto failure = env.getFailure();
      std::optional<exit_reason> why;
      if (failure.hasReason()) why = wire::read_exit_reason(failure.getReason());
      return expected<wire::frame_ptr>(error(static_cast<errc>(failure.getCode()), failure.getMessage(), why));
    } catch (const wire::protocol_error& e) {
      protocol_failure(ch, e.what());
      return expected<wire::frame_ptr>(error(errc::protocol_error, e.what()));
    }
  }

  expected<void> make_room(channel& ch, std::chrono::milliseconds timeout) {
    if (ch.out.size() < output_limit) return {};
    auto deadline = clock::now() + timeout;
    while (ch.out.size() >= output_limit) {
      if (flush(ch) == wire::flush_status::failed) return error(errc::actor_down, "the channel is closed");
      if (ch.out.size() < output_limit) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0 || wire::poll_one(ch.fd.get(), POLLOUT, left) == 0) {
        return error(errc::mailbox_full, "the output buffer stayed full for the whole send timeout");
      }
      ch.write_blocked = false;  // writable again
    }
    return {};
  }

  // The channel's output, with its open batch framed first (so every frame
  // written after it keeps the order of the sends).
  wire::frame_writer& output(channel& ch) {
    if (!ch.batch.empty()) {
      if (filling_ == &ch.batch) {
        throw std::logic_error("a send()'s fill function used the context on the channel of the message it fills; "
                               "fill functions must only fill their message");
      }
      ch.batch.close_into(ch.out);
    }
    return ch.out;
  }

  wire::flush_status flush(channel& ch) {
    if (output(ch).empty()) return wire::flush_status::done;
    if (ch.write_blocked) return wire::flush_status::would_block;  // no futile send() on a full socket
    auto status = ch.out.flush(ch.fd.get());
    ch.write_blocked = status == wire::flush_status::would_block;
    if (status == wire::flush_status::failed) {
      ch.out.clear();
      ch.closed = true;
    }
    return status;
  }

  channel& route(uint64_t to) {
    channel* direct = find_channel(to);
    return (direct != nullptr && !direct->closed) ? *direct : *channels_[0];
  }
  channel* find_channel(uint64_t peer) {
    for (auto& ch : channels_) {
      if (ch->peer == peer) return ch.get();
    }
    return nullptr;
  }
  channel& reply_channel() {
    channel* ch = find_channel(current_channel_);
    return (ch != nullptr && !ch->closed) ? *ch : *channels_[0];
  }

  template <class Fill>
  void send_system(Fill&& fill) {
    wire::envelope_builder out;
    out.address(0, id(), 0);
    fill(out.envelope().initSystem());
    output(*channels_[0]).append(out.message());  // system messages are never refused
  }

  void fail_current(errc code, const std::string& what) {
    wire::envelope_builder out;
    out.address(current_sender_, id(), current_correlation_);
    out.init_failure(code, what);
    output(reply_channel()).append(out.message());
    replied_ = true;
  }

  // The receiver refuses a frame beyond the limit as a protocol error and
  // kills its sender: a message that cannot fit is refused here instead, with
  // an error its sender can handle. The writer measures the frame as it
  // appends it, so the check costs nothing extra per message.
  expected<void> append_within_frame(wire::frame_writer& to, wire::envelope_builder& out, const char* what) {
    std::size_t bytes = to.append(out.message(), {}, limits_.max_frame_bytes);
    if (bytes <= limits_.max_frame_bytes) return {};
    return error(errc::too_large, std::string("a ") + what + " of " + std::to_string(bytes) +
                                      " bytes exceeds the frame limit of " +
                                      std::to_string(limits_.max_frame_bytes) + " bytes; not sent");
  }
  // The most a segment table can take (wire::limits::max_segments segments).
  std::size_t frame_table_bytes() const { return 4 * (std::size_t{limits_.max_segments} + 2); }

  void crash(const std::string& what) {
    if (current_correlation_ != 0 && !replied_) fail_current(errc::handler_exception, what);
    log("handler threw: " + what);
    stopping_ = true;
    reason_ = exit_reason::because(exit_reason::kind::exception, what);
    status_ = worker_status::exception;
  }

  void protocol_failure(channel& ch, const std::string& what) {
    if (ch.peer != 0) {
      log("closing the direct channel to actor " + std::to_string(ch.peer) + ": " + what);
      ch.closed = true;
      return;
    }
    log("protocol error on the mailbox: " + what);
    stopping_ = true;
    reason_ = exit_reason::because(exit_reason::kind::protocol_error, what);
    status_ = worker_status::protocol_error;
  }

  int fail_launch(const std::string& what) {
    log(what);
    reason_ = exit_reason::because(exit_reason::kind::launch_failed, what);
    announce_exit();
    return worker_status::launch_failed;
  }

  void announce_exit() {
    send_system([&](schema::System::Builder s) { wire::write_exit_reason(s.initExit(), reason_); });
    for (auto& ch : channels_) wire::flush_blocking(ch->fd.get(), output(*ch), exit_flush_timeout);
  }

  void log(const std::string& what) const {
    std::fprintf(stderr, "actorproc: actor '%s' (id %llu): %s\n", name().c_str(), static_cast<unsigned long long>(id()),
                 what.c_str());
  }
  static std::string hex(uint64_t v) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(v));
    return text;
  }

  struct timer {
    uint64_t id;
    std::function<void()> fn;
  };
  std::multimap<clock::time_point, timer> timers_;
  uint64_t next_timer_ = 1;

  struct fd_watch {
    int fd;
    short events;
    short ready;  // revents of the last wait, until the callback has run
    std::shared_ptr<std::function<void(short)>> fn;
  };
  std::vector<fd_watch> watches_;

  wire::limits limits_;
  std::vector<std::unique_ptr<channel>> channels_;  // [0] is the mailbox
  channel* batching_ = nullptr;                     // the channel of the last batch opened, if it still exists
  bool busy_ = true;                                // a frame came since the mailbox was last quiet for a slice
  bool timer_ran_last_ = false;                     // the last turn ran a timer: the next one serves messages
  system_lane lane_;                                // stop and heartbeat taken ahead of the mailbox's backlog
  std::unique_ptr<behavior> actor_;
  std::deque<std::pair<uint64_t, wire::frame_ptr>> stash_;
  std::size_t stash_bytes_ = 0;
  uint64_t next_correlation_ = 1;
  bool stopping_ = false;
  exit_reason reason_;
  int status_ = 0;
};

}  // namespace

int run_worker(const entry_table& actors, const process::launch_request& request, unique_fd mailbox,
               std::vector<unique_fd> extra_fds, const wire::limits& limits) {
  std::string title = "ap:" + request.name;
  ::prctl(PR_SET_NAME, title.c_str());
  worker_loop loop(request, std::move(mailbox), std::move(extra_fds), limits);
  int status = loop.run(actors, request.actor_type);
  std::fflush(stdout);
  std::fflush(stderr);
  return status;
}

}  // namespace detail

namespace {

// What the node put on the command line of a worker started by exec.
struct exec_worker_args {
  process::launch_request request;
  pid_t node_pid = -1;
  std::size_t extra_fds = 0;
};

std::optional<exec_worker_args> parse_worker_args(const std::vector<std::string_view>& argv) {
  if (argv.size() < 2 || argv[1] != process::worker_switch) return std::nullopt;
  exec_worker_args out;
  out.request.method = start_method::exec;
  std::size_t i = 2;
  if (i < argv.size()) out.request.actor_type = argv[i++];
  for (; i + 1 < argv.size(); i += 2) {
    std::string_view key = argv[i];
    std::string value(argv[i + 1]);
    if (key == "--") break;
    if (key == "--actorproc-id") out.request.id = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "--actorproc-name") out.request.name = value;
    if (key == "--actorproc-node") out.node_pid = static_cast<pid_t>(std::atoi(value.c_str()));
    if (key == "--actorproc-fds") out.extra_fds = std::strtoull(value.c_str(), nullptr, 10);
  }
  if (i < argv.size() && argv[i] == "--") ++i;
  for (; i < argv.size(); ++i) out.request.args.emplace_back(argv[i]);
  return out;
}

// This process's own command line, as exec gave it.
std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> words;
  for (std::string word; std::getline(in, word, '\0');) words.push_back(word);
  return words;
}

}  // namespace

void detail::refuse_if_started_as_worker(std::string_view what_was_done) {
  const char* marker = std::getenv(process::worker_env);
  if (marker == nullptr) return;
  // Set by a node for the worker it exec'd, and only that node is this
  // process's parent; otherwise the variable was passed on by someone else.
  if (std::atoi(marker) != ::getppid()) return;
  std::vector<std::string> words = own_command_line();
  auto args = parse_worker_args(std::vector<std::string_view>(words.begin(), words.end()));
  if (!args) return;
  std::string why = "this program was started as an actor worker (exec start method), but its main() " +
                    std::string(what_was_done) +
                    " without calling actorproc::run_if_worker() first: start main() with "
                    "`if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;`";
  worker_loop loop(args->request, unique_fd(process::exec_mailbox_fd), {}, wire::limits{});
  int status = loop.refuse(why);
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(status);  // never go on as a node: that node would exec the program again, and so on
}

std::optional<int> run_if_worker(const entry_table& actors, int argc, char** argv) {
  auto args = parse_worker_args(std::vector<std::string_view>(argv, argv + argc));
  if (!args) return std::nullopt;
  // This process is a worker now: what it starts (a port's command) is not.
  ::unsetenv(process::worker_env);
  // PR_SET_PDEATHSIG survives exec; re-check that the node did not die before it was set.
  if (args->node_pid > 0 && ::getppid() != args->node_pid) return 1;

  std::vector<unique_fd> extra_fds;
  for (std::size_t k = 0; k < args->extra_fds; ++k) {
    extra_fds.emplace_back(process::exec_mailbox_fd + 1 + static_cast<int>(k));
  }
  return detail::run_worker(actors, args->request, unique_fd(process::exec_mailbox_fd), std::move(extra_fds));
}

}  // namespace actorproc
