#pragma once
// Limits on what a peer may send. Every frame read by the node or by a worker is
// checked against them before anything is allocated for it, because a peer is an
// untrusted process: a child may be buggy, compromised, or crashing mid-write.

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>

namespace actorproc::wire {

struct limits {
  /// A frame announcing more bytes than this is refused before its body is read
  /// (blocks a header that claims gigabytes to make the reader allocate them).
  std::size_t max_frame_bytes = std::size_t{64} << 20;
  /// A frame with more segments than this is refused (blocks a segment table
  /// crafted to make the reader allocate one descriptor per segment).
  uint32_t max_segments = 512;
  /// Nesting depth of pointers (blocks stack exhaustion by deep recursion).
  int max_nesting = 64;

  /// Reader options for Cap'n Proto. The traversal limit is twice the frame size:
  /// enough to read every word of an honest frame twice, too little for a frame
  /// whose pointers alias the same data to amplify it ("the billion laughs").
  capnp::ReaderOptions reader_options(std::size_t frame_bytes) const {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 2 * (frame_bytes / sizeof(capnp::word)) + 64;
    options.nestingLimit = max_nesting;
    return options;
  }
};

}  // namespace actorproc::wire
