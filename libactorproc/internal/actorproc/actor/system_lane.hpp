#pragma once
// system_lane: the worker's way to put stop and heartbeat ahead of user
// messages. Internal to the worker loop (public only for its unit tests).
//
// The node writes a stop or a heartbeat ahead of its own backlog for an actor
// (frame_writer::append_ahead), but the worker may hold a backlog of its own:
// a slow handler behind 64 KiB of small messages is seconds of work. So once a
// backlog in the mailbox has lasted `look_every`, and then at most that often,
// the worker reads what its socket holds and lets the lane scan the frames
// behind those already looked at. The lane takes every stop and heartbeat
// frame (without descriptors, whose order follows the frames') out of the
// queue: the worker handles them first, and skips them in their turn. Each
// frame is looked at once, by its union tag alone (wire::is_system_frame).
//
// A backlog's first frame is always handled in order, so a short queue keeps
// plain FIFO order. The lane does no I/O: the worker decides what to read.

#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/limits.hpp>
#include <actorproc/wire/message.hpp>

#include <chrono>
#include <cstdint>
#include <deque>

namespace actorproc::detail {

class system_lane {
 public:
  using clock = std::chrono::steady_clock;
  /// How long a backlog lasts before the lane looks behind it, and how often after.
  static constexpr std::chrono::milliseconds look_every{1};

  /// Whether to look behind the mailbox now, with `buffered` bytes in it.
  bool due(std::size_t buffered, clock::time_point now);
  /// Takes the stop and heartbeat frames out of what `in` holds, behind the
  /// frames already looked at. A malformed frame is left for its turn (where
  /// the worker reports it), and the scan stops there.
  void scan(wire::frame_decoder& in, const wire::limits& limits);
  /// The next frame to handle ahead of the queue (null: none).
  wire::frame_ptr take();
  /// Called for each frame the mailbox hands out in order (its stream
  /// position and size): true if the lane took it ahead already, to skip.
  bool taken_ahead(uint64_t position, std::size_t bytes);

 private:
  std::deque<wire::frame_ptr> ahead_;
  std::deque<uint64_t> positions_;  // of the frames taken ahead, not yet reached in order
  std::size_t scanned_ = 0;         // bytes behind the mailbox's next frame already looked at
  bool backlog_ = false;            // the mailbox has held frames since last_look_ (at least)
  clock::time_point last_look_{};
};

}  // namespace actorproc::detail
