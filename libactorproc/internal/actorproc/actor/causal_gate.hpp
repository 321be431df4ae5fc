#pragma once
// causal_gate: which buffered frame a worker handles next, so that what a peer
// sent on a direct channel before a message that reached this worker through
// the node is handled first. Internal to the worker loop (public only for its
// unit tests).
//
// The hazard: actor A acknowledges items one-way on its direct channel to a
// queue, then tells the host "done" through the node; the host asks the queue
// for its status through the node. The sender does its part (channel_set: a
// worker writes nothing to its mailbox while output sent earlier on a direct
// channel is not yet in the kernel, unless the peer took nothing for
// channel.hpp's fence_patience), so A's acknowledgements are in the
// queue's socket before the host even hears "done". The receiver does the
// rest: before it handles a frame from its mailbox, it reads what its direct
// channels hold now (without waiting) and takes a snapshot of their stream
// ends; every direct frame complete at that moment goes first, the mailbox
// frame after them. The snapshot bounds it: frames that arrive later wait
// for their turn, so a flooding peer cannot starve the mailbox (stop and
// heartbeat, taken ahead by system_lane, keep their priority over both).
//
// A dead peer is the same case: its last frames and then the end of its
// stream are in the socket before the node can learn of its death, so the
// snapshot holds them when the node's notice comes.
//
// The other direction is not ordered: a message that reaches this worker
// through the node is not guaranteed to come before a direct frame that it
// caused (the node may still hold it while the direct frame arrives).
//
// The gate does no I/O and knows no sockets: the worker reads, and tells it
// the positions (stream offsets of frame_decoder).

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace actorproc::detail {

class causal_gate {
 public:
  /// A direct channel's next complete frame, if any: its peer and the stream
  /// offset where that frame ends.
  struct head {
    uint64_t peer;
    std::optional<uint64_t> frame_end;
  };

  /// Whether the snapshot for the mailbox frame at stream offset `position` is taken.
  bool armed_for(uint64_t position) const { return armed_ && position_ == position; }
  /// Takes the snapshot for the mailbox frame at `position`: `ends` are each
  /// direct channel's peer and the stream offset of what it had received
  /// once read to the point of would-block.
  void arm(uint64_t position, std::vector<std::pair<uint64_t, uint64_t>> ends);
  /// The index in `heads` of a direct frame that was complete at the snapshot,
  /// to handle before the mailbox frame; nullopt: the mailbox frame goes next.
  /// A channel unknown to the snapshot (added since) owes nothing.
  std::optional<std::size_t> owed(std::span<const head> heads) const;

 private:
  bool armed_ = false;
  uint64_t position_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> ends_;  // (peer, stream end at the snapshot)
};

}  // namespace actorproc::detail
