#pragma once
// answer_stash: what a worker keeps while one of its requests waits for the
// answer. Internal to the worker runtime.
//
// request() blocks the actor until its answer comes, but the frames that
// arrive meanwhile (other messages, a stop) must not be lost or reordered: the
// stash keeps them, in arrival order, and the runtime handles them after the
// current handler returns, ahead of anything read later. It is bounded: a
// requester flooded while it waits fails with mailbox_full instead of growing.

#include <actorproc/base/expected.hpp>
#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/limits.hpp>
#include <actorproc/wire/message.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace actorproc::detail {

class channel_set;
class channel_failures;

/// The next `count` descriptors of `in`, in stream order.
std::vector<unique_fd> take_fds(wire::frame_decoder& in, std::size_t count);

class answer_stash {
 public:
  /// Bytes of frames kept beyond which a waiting request gives up.
  static constexpr std::size_t limit = 16 << 20;

  /// If `frame` (from the channel to `peer`) answers `correlation`: the answer
  /// (a response, or the failure as an error). Otherwise keeps a copy of it and
  /// returns nullopt. Either way the frame's descriptors are taken from `in`
  /// now, in stream order, and kept with it. Throws wire::protocol_error on a
  /// malformed frame.
  std::optional<expected<wire::frame_ptr>> take_if_answer(kj::ArrayPtr<const capnp::word> frame, uint64_t peer,
                                                          uint64_t correlation, const wire::limits& limits,
                                                          wire::frame_decoder& in);
  /// Reads every frame `channels` hold now, through take_if_answer(): the
  /// answer to `correlation` if it came, else nullopt with the rest kept, in
  /// the order causal_gate.hpp asks for. An introduction of a direct channel
  /// (System.peer) from the mailbox is not kept: its channel is added at once.
  /// A malformed frame is reported to `failures` and returned as protocol_error.
  std::optional<expected<wire::frame_ptr>> collect(channel_set& channels, uint64_t correlation,
                                                   const wire::limits& limits, channel_failures& failures);
  bool empty() const { return frames_.empty(); }
  bool over_limit() const { return bytes_ > limit; }
  /// The oldest frame kept, and the peer it came from; the stash must not be empty.
  std::pair<uint64_t, wire::frame_ptr> pop();

 private:
  // If the frame kept last is an introduction, takes it out and adds its channel.
  bool adopt_introduction(channel_set& channels);

  std::deque<std::pair<uint64_t, wire::frame_ptr>> frames_;
  std::size_t bytes_ = 0;
};

}  // namespace actorproc::detail
