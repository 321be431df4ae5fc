#pragma once
// Limits on what a peer may send. Every frame read by the node or by a worker is
// checked against them before anything is allocated for it, because a peer is an
// untrusted process: a child may be buggy, compromised, or crashing mid-write.

#include <capnp/message.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace actorproc::wire {

struct limits {
  /// The largest payload a message is promised to carry, on every path (host
  /// or worker, request, reply or one-way, batched or not): a user struct of up
  /// to this many bytes, e.g. a Data field of 64 MiB. Larger payloads travel as
  /// a shared_buffer (wire/shared_buffer.hpp), which has no such bound.
  static constexpr std::size_t max_payload_bytes = std::size_t{64} << 20;
  /// What a frame holds besides its payload, at most: the envelope, a segment
  /// table of max_segments entries (2 KiB), and the other messages of a
  /// worker's batch (which closes at 16 KiB).
  static constexpr std::size_t envelope_headroom = std::size_t{64} << 10;
  /// A frame announcing more bytes than this is refused before its body is read
  /// (blocks a header that claims gigabytes to make the reader allocate them).
  /// Every sender refuses a message whose frame would exceed it (too_large).
  std::size_t max_frame_bytes = max_payload_bytes + envelope_headroom;
  /// A frame with more segments than this is refused (blocks a segment table
  /// crafted to make the reader allocate one descriptor per segment).
  uint32_t max_segments = 512;
  /// Nesting depth of pointers (blocks stack exhaustion by deep recursion).
  int max_nesting = 64;

  /// Reader options for Cap'n Proto. Every read through a pointer counts
  /// against the traversal limit, re-reads included: the validation walk reads
  /// the whole frame once, and then handlers read what they need, some fields
  /// more than once, and a batch's list several times. The limit is therefore
  /// Cap'n Proto's own default (8 Mi words, 64 MiB of reads) or four times the
  /// frame, whichever is larger. It still stops a frame whose pointers alias the
  /// same data to amplify it ("the billion laughs"): the walk gives up after at
  /// most that many reads.
  capnp::ReaderOptions reader_options(std::size_t frame_bytes) const {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = std::max<uint64_t>(capnp::ReaderOptions{}.traversalLimitInWords,
                                                       4 * (frame_bytes / sizeof(capnp::word)));
    options.nestingLimit = max_nesting;
    return options;
  }
};

}  // namespace actorproc::wire
