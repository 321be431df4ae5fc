#pragma once
// channels: the sockets a worker reads and writes. Internal to the worker runtime.
//
// A worker has one mailbox (its socket to the node) and a direct channel per
// peer it was connected to (node::connect). Each channel pairs the socket with
// the frame decoder that reads it, the writer that buffers what the worker
// sends on it (bounded: a send beyond output_limit waits for the socket, up to
// its timeout), and the open batch of one-way messages to one destination. The
// channel set routes (a direct channel while it is open, else the mailbox),
// frames batches in send order, flushes, and says what to poll for.
//
// Causal order across channels (causal_gate.hpp): nothing goes into the
// mailbox's output while output sent earlier on a direct channel is still in
// this process (fence: it is flushed first, waiting for the socket if need
// be, up to fence_patience), so that whatever the node passes on after it
// finds that output in its receiver's socket already. System messages to the node (heartbeat answers,
// monitor) do not wait: nothing the node does with them depends on a peer's
// input. While a send waits for a socket (its own or, fenced, a direct
// one), the worker keeps reading every channel (up to input_hold_limit per
// channel), so that a peer blocked on this worker, or this worker's direct
// peer blocked sending to it, goes on: two workers that each wait to write to
// the other do not deadlock unless both hold that much unread input.
//
// What a broken channel means (a closed direct channel is dropped; a broken
// mailbox ends the actor) is the runtime's decision: the set reports failures
// through channel_failures and never stops anything itself.

#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/wire/batch_builder.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/frame_writer.hpp>
#include <actorproc/wire/limits.hpp>

#include <poll.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace actorproc::detail {

class causal_gate;

// A requester blocked in recvmsg on the mailbox looks up at least this often
// (its deadline, the other channels).
inline constexpr std::chrono::milliseconds receive_slice{50};
// The same for a direct channel: a requester waiting on one keeps the others
// (whose frames it stashes) waiting at most this long.
inline constexpr std::chrono::milliseconds peer_receive_slice{2};
// While a send waits for room, or the runtime takes a snapshot of its direct
// channels (causal_gate.hpp), it reads a channel only while less than this is
// buffered in it.
inline constexpr std::size_t input_hold_limit = 2 << 20;
// The longest a message to the mailbox waits for the direct channels' earlier
// output to leave (fence; a send waits at most its own timeout): a direct
// peer that takes nothing for that long (stopped, or stuck in a handler with
// its socket full) is not waited for, and that message goes unordered, so
// that one stalled peer does not stall everything this worker sends through
// the node (a port answers its status while its subscriber is stopped).
inline constexpr std::chrono::milliseconds fence_patience{1000};

// One socket the worker reads and writes.
struct channel {
  uint64_t peer = 0;  // 0: the mailbox
  unique_fd fd;
  wire::frame_decoder in;
  wire::frame_writer out;
  wire::batch_builder batch;  // one-way messages not yet framed into `out`
  bool closed = false;
  bool write_blocked = false;  // the last send found the socket full: wait for POLLOUT before trying again

  channel(uint64_t peer, unique_fd fd, const wire::limits& limits);
};

/// How a channel failed; the runtime decides what that means for the actor.
class channel_failures {
 public:
  /// A malformed frame came by `ch`, or the node closed the mailbox inside a frame.
  virtual void protocol_failure(channel& ch, const std::string& what) = 0;
  /// The mailbox reached its end: the node closed it, or is gone.
  virtual void mailbox_closed() = 0;

 protected:
  ~channel_failures() = default;
};

class channel_set {
 public:
  /// `filling` is the context's batch whose message a send() is filling (see
  /// context::filling_): framing it before the message is complete is refused.
  channel_set(unique_fd mailbox, const wire::limits& limits, channel_failures& failures,
              wire::batch_builder* const& filling);

  channel& mailbox() { return *channels_[0]; }
  const channel& mailbox() const { return *channels_[0]; }
  std::size_t size() const { return channels_.size(); }
  channel& operator[](std::size_t i) { return *channels_[i]; }
  /// Adds the direct channel to `peer`.
  void add(uint64_t peer, unique_fd fd);
  /// The open direct channel to `to`, else the mailbox.
  channel& route(uint64_t to);
  /// The channel to `peer` (0: the mailbox), open or closed; null if there is none.
  channel* find(uint64_t peer);
  /// Forgets the closed direct channels whose input is all handled. Only
  /// while no frame of theirs is in use.
  void drop_closed();

  /// Reads what `ch`'s socket holds (blocking: waits up to the socket's receive
  /// slice). The end of the stream closes the channel; failures are reported.
  wire::read_status read(channel& ch, bool block = false);
  /// The next complete frame of `ch`, if any, in `frame`; false if the stream is
  /// broken (reported).
  bool next_frame(channel& ch, std::optional<kj::ArrayPtr<const capnp::word>>& frame);

  /// Whether the mailbox holds a complete frame (or a malformed one, which
  /// next_frame() reports).
  bool mailbox_has_frame();
  /// Reads what each open direct channel's socket holds now, without waiting
  /// (up to input_hold_limit buffered); returns every direct channel's peer
  /// and stream end (the snapshot of causal_gate::arm).
  std::vector<std::pair<uint64_t, uint64_t>> snapshot_direct();
  /// The index of the direct channel whose next frame goes before the
  /// mailbox's next frame (causal_gate.hpp), arming `gate` for that frame
  /// first if need be; 0 if the mailbox's frame goes (a stop or heartbeat
  /// goes at once) or it has none. With none buffered, it reads the mailbox
  /// at most every system_lane::look_every.
  std::size_t owed_before_mailbox(causal_gate& gate);

  /// `ch`'s output, with its open batch framed first (so every frame written
  /// after it keeps the order of the sends).
  wire::frame_writer& output(channel& ch);
  wire::flush_status flush(channel& ch);
  /// Flushes every channel; false if one of them is full.
  bool flush_all();
  /// Waits up to `timeout` until `ch`'s output is below its bound; for the
  /// mailbox, first for the fence.
  expected<void> make_room(channel& ch, std::chrono::milliseconds timeout);
  /// Before something goes into the mailbox's output: flushes what the direct
  /// channels hold and waits up to `timeout` (at most fence_patience) until
  /// all of it is in the kernel; false if it is not (what follows goes
  /// unordered).
  bool fence(std::chrono::milliseconds timeout);
  /// Appends `out`, with `fds`, to `to` unless its frame would pass the frame
  /// limit (too_large: the receiver would take such a frame for a protocol
  /// error and kill its sender) or it has too many descriptors (invalid_argument).
  expected<void> append_within_frame(wire::frame_writer& to, wire::envelope_builder& out, const char* what,
                                     std::vector<unique_fd> fds = {});
  /// Appends the answer `out` (addressed already) to `ch`; one that cannot be
  /// sent is replaced by a failure saying why, so that its requester still hears.
  /// Into the mailbox, it waits for the fence first.
  void append_answer(channel& ch, wire::envelope_builder& out, std::vector<unique_fd> fds);
  /// Bytes sent but still in this process, on open channels.
  std::size_t unsent_bytes() const;
  /// Gives everything still buffered up to `timeout` per channel to leave,
  /// the direct channels' first (fence).
  void flush_before_exit(std::chrono::milliseconds timeout);

  /// The open batch of one-way messages from `from` to `to` (context::open_batch).
  expected<wire::batch_builder*> open_batch(uint64_t to, uint64_t from, std::chrono::milliseconds timeout);
  /// The open batch from `from` to `to` that holds messages, if a message may
  /// join it without a fence (context::unsent_batch); null otherwise.
  wire::batch_builder* unsent_batch(uint64_t to, uint64_t from);
  /// The message at `index` of `batch` is complete (context::added_to_batch).
  expected<void> added_to_batch(wire::batch_builder& batch, unsigned index, bool nested);

  /// Flushes every channel and sets `fds` to what a wait must poll for them, in
  /// channel order; true if every output is flushed.
  bool poll_set(std::vector<pollfd>& fds);
  /// Reads and writes what a wait on poll_set()'s `fds` found ready.
  void absorb(std::span<const pollfd> fds);

 private:
  wire::limits limits_;
  channel_failures& failures_;
  // Whether a direct channel holds output not yet in the kernel.
  bool direct_pending() const;
  // Waits up to `timeout` until `done()`, writing and reading every channel
  // meanwhile (reads bounded by input_hold_limit); false on timeout.
  template <class Done>
  bool pump_until(Done&& done, std::chrono::milliseconds timeout);

  wire::batch_builder* const& filling_;
  std::vector<std::unique_ptr<channel>> channels_;  // [0] is the mailbox
  channel* batching_ = nullptr;                     // the channel of the last batch opened, if it still exists
  std::vector<pollfd> pump_fds_;
  std::chrono::steady_clock::time_point mailbox_looked_{};  // owed_before_mailbox's last read of the mailbox
};

}  // namespace actorproc::detail
