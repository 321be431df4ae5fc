#pragma once
// frame_decoder: turns a byte stream into complete Cap'n Proto frames.
//
// The stream uses Cap'n Proto's standard framing (segment table, then segments).
// The decoder reads the header itself instead of using StreamFdMessageReader for
// two reasons: it needs one read() for many frames rather than two per frame, and
// it must tell a clean end of stream (peer closed between frames) apart from a
// truncated frame, which StreamFdMessageReader reports identically.
//
// Frames are returned as word arrays that point into the decoder's buffer; they
// stay valid until the next call to read_from() or feed(). Descriptors that arrive
// with SCM_RIGHTS are queued in arrival order; an envelope says how many of them
// belong to it (Envelope.fdCount).
//
// Memory is bounded: the buffer grows only to hold one frame of at most
// limits::max_frame_bytes, and shrinks back after such a frame is consumed.

#include <actorproc/base/unique_fd.hpp>
#include <actorproc/wire/limits.hpp>
#include <actorproc/wire/protocol_error.hpp>

#include <capnp/common.h>
#include <kj/common.h>

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace actorproc::wire {

enum class read_status {
  /// Some bytes were read.
  data,
  /// Nothing to read now (non-blocking socket).
  would_block,
  /// The peer closed the stream between two frames.
  end_of_stream,
  /// The peer closed the stream in the middle of a frame.
  truncated,
  /// read() failed; errno is preserved.
  failed,
};

class frame_decoder {
 public:
  explicit frame_decoder(limits lim = {});

  /// One recvmsg() on `fd`, appending bytes and any descriptors. Without
  /// `block` it never waits (MSG_DONTWAIT); with it, it waits for data or for
  /// the socket's SO_RCVTIMEO (then would_block).
  read_status read_from(int fd, bool block = false);

  /// Appends raw bytes, as read_from() would (used by tests and the fuzzer).
  void feed(const void* data, std::size_t size);

  /// The next complete frame, or nullopt if more bytes are needed.
  /// Throws protocol_error when the header is invalid or announces an oversized frame.
  std::optional<kj::ArrayPtr<const capnp::word>> next();

  /// Whether next() would return a frame now (throws protocol_error like next()).
  bool has_complete_frame() { return complete_frame_bytes() != 0; }

  /// The complete frame that starts `offset` bytes past the one next() would
  /// return (offset 0: that one), without consuming anything; nullopt if it is
  /// not complete yet. Valid until the next read_from() or next() (or, while
  /// held, until release()). Throws protocol_error like next().
  std::optional<kj::ArrayPtr<const capnp::word>> peek(std::size_t offset);
  /// Bytes consumed by next() since the decoder was made: the stream position
  /// of the frame next() returns, which names a frame seen earlier by peek().
  uint64_t position() const { return consumed_; }

  /// The oldest descriptor received and not yet claimed (invalid when none).
  unique_fd take_fd();

  /// While held, frames already returned stay valid across read_from(): the
  /// buffer is replaced instead of moved, and the old one is kept until
  /// release(). The worker holds its decoder while a handler runs, because a
  /// handler may make a request, which reads more frames, while it still reads
  /// the message it was given. Holds nest.
  void hold() { ++holds_; }
  void release();

  /// Bytes received and not yet returned as frames.
  std::size_t buffered_bytes() const { return end_ - begin_; }

 private:
  // Makes room for at least `bytes` after end_, compacting and growing as needed.
  void reserve_tail(std::size_t bytes);
  std::byte* base() { return reinterpret_cast<std::byte*>(buffer_.data()); }
  // The size of the first buffered frame if it is complete, else 0 (and wanted_
  // is set once its size is known). Checks the header against the limits.
  std::size_t complete_frame_bytes();
  // The size of the frame whose header starts at `at` (checked against the
  // limits), or SIZE_MAX while its header is incomplete.
  std::size_t frame_bytes_at(std::size_t at);

  limits limits_;
  std::size_t chunk_;                // what one read asks for at least (frame_decoder.cpp: first_chunk)
  std::vector<capnp::word> buffer_;  // word-typed so every frame starts aligned
  std::size_t begin_ = 0;            // byte offset of the first unconsumed byte
  std::size_t end_ = 0;              // byte offset past the last received byte
  std::size_t wanted_ = 0;           // size of the frame being assembled, once known
  uint64_t consumed_ = 0;            // bytes returned by next() so far
  std::deque<unique_fd> fds_;
  int holds_ = 0;
  std::vector<std::vector<capnp::word>> retired_;  // buffers replaced while held
};

}  // namespace actorproc::wire
