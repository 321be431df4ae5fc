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
#include <vector>

namespace actorproc::detail {

// A requester blocked in recvmsg on the mailbox looks up at least this often
// (its deadline, the other channels).
inline constexpr std::chrono::milliseconds receive_slice{50};
// The same for a direct channel: a requester waiting on one keeps the others
// (whose frames it stashes) waiting at most this long.
inline constexpr std::chrono::milliseconds peer_receive_slice{2};

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

  /// `ch`'s output, with its open batch framed first (so every frame written
  /// after it keeps the order of the sends).
  wire::frame_writer& output(channel& ch);
  wire::flush_status flush(channel& ch);
  /// Flushes every channel; false if one of them is full.
  bool flush_all();
  /// Waits up to `timeout` until `ch`'s output is below its bound.
  expected<void> make_room(channel& ch, std::chrono::milliseconds timeout);
  /// Appends `out`, with `fds`, to `to` unless its frame would pass the frame
  /// limit (too_large: the receiver would take such a frame for a protocol
  /// error and kill its sender) or it has too many descriptors (invalid_argument).
  expected<void> append_within_frame(wire::frame_writer& to, wire::envelope_builder& out, const char* what,
                                     std::vector<unique_fd> fds = {});
  /// Appends the answer `out` (addressed already) to `ch`; one that cannot be
  /// sent is replaced by a failure saying why, so that its requester still hears.
  void append_answer(channel& ch, wire::envelope_builder& out, std::vector<unique_fd> fds);
  /// Bytes sent but still in this process, on open channels.
  std::size_t unsent_bytes() const;
  /// Gives everything still buffered up to `timeout` per channel to leave.
  void flush_before_exit(std::chrono::milliseconds timeout);

  /// The open batch of one-way messages from `from` to `to` (context::open_batch).
  expected<wire::batch_builder*> open_batch(uint64_t to, uint64_t from, std::chrono::milliseconds timeout);
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
  wire::batch_builder* const& filling_;
  std::vector<std::unique_ptr<channel>> channels_;  // [0] is the mailbox
  channel* batching_ = nullptr;                     // the channel of the last batch opened, if it still exists
};

}  // namespace actorproc::detail
