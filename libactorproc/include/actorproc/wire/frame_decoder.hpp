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
// Which frame descriptors belong to is checked, not trusted: a sender attaches
// them to the first byte of their frame (frame_writer does), and the kernel
// ends a read right after the data that carried descriptors, so a frame's
// descriptors arrive with the read that holds its first byte. claim_fds()
// holds each frame to that; see there.
//
// Memory is bounded: the buffer grows only to hold one frame of at most
// limits::max_frame_bytes. A large frame is read straight into a buffer of its
// announced size (no doubling, no copy per growth); that buffer is allocated
// but not touched, so a header that announces much and sends little costs
// address space, not memory. A run of large frames keeps that buffer, so that
// their pages are not faulted in again for each one (on a VM, faults cost more
// than the copies); after the first frame smaller than `keep_bytes` (see the
// constructor), the decoder keeps no more than that.

#include <actorproc/base/unique_fd.hpp>
#include <actorproc/wire/limits.hpp>
#include <actorproc/wire/protocol_error.hpp>

#include <capnp/common.h>
#include <kj/common.h>

#include <cstddef>
#include <deque>
#include <memory>
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
  /// `keep_bytes`: the capacity kept once a frame smaller than that has come
  /// (a run of larger frames keeps the room of the largest).
  explicit frame_decoder(limits lim = {}, std::size_t keep_bytes = default_keep_bytes);
  static constexpr std::size_t default_keep_bytes = 256 * 1024;
  /// More descriptors than this waiting for their frames is a protocol error
  /// (a peer stuffing descriptors would otherwise exhaust the reader's table).
  static constexpr std::size_t max_pending_fds = 256;
  /// Descriptors accepted with one frame (one recvmsg); more are a protocol
  /// error (the kernel closes what does not fit: MSG_CTRUNC). Senders refuse
  /// more with invalid_argument.
  static constexpr std::size_t max_fds_per_frame = 16;

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
  /// For a reader that takes each frame's descriptors in stream order and
  /// trusts its peer's count (a worker: its peers' frames passed the node, or
  /// a direct peer's failure is the worker's own).
  unique_fd take_fd();
  /// The descriptors of the frame next() returned last, which announces
  /// `count`, checked: they must have come with the frame's first byte, be
  /// exactly `count`, and no descriptor may be left that only an earlier
  /// frame could own. Throws protocol_error otherwise (the descriptors stay
  /// queued, to be closed with the decoder). Call it for every frame, in
  /// order, before the next call to next(). After a protocol error the
  /// stream is broken: the decoder closes every descriptor it holds.
  std::vector<unique_fd> claim_fds(std::size_t count);
  /// Descriptors received and not yet claimed.
  std::size_t pending_fds() const;

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
  std::byte* base() { return reinterpret_cast<std::byte*>(buffer_.get()); }
  // The size of the first buffered frame if it is complete, else 0 (and wanted_
  // is set once its size is known). Checks the header against the limits.
  std::size_t complete_frame_bytes();
  // The size of the frame whose header starts at `at` (checked against the
  // limits), or SIZE_MAX while its header is incomplete.
  std::size_t frame_bytes_at(std::size_t at);

  // Stream offsets are absolute (bytes since the decoder was made).
  uint64_t stream_end() const { return consumed_ + buffered_bytes(); }
  // Replaces the buffer by one of `words`, uninitialized, keeping the live bytes.
  void reallocate(std::size_t words);

  // The descriptors one read delivered, and the stream range [first, last)
  // of that read: the frame they belong to starts inside it.
  struct fd_batch {
    uint64_t first;
    uint64_t last;
    std::deque<unique_fd> fds;
  };

  limits limits_;
  std::size_t keep_bytes_;
  std::size_t chunk_;  // what one read asks for at least (frame_decoder.cpp: first_chunk)
  // Word-typed so every frame starts aligned; left uninitialized (a large
  // frame's pages are first touched by the read that fills them).
  std::unique_ptr<capnp::word[]> buffer_;
  std::size_t capacity_words_ = 0;
  std::size_t begin_ = 0;            // byte offset of the first unconsumed byte
  std::size_t end_ = 0;              // byte offset past the last received byte
  std::size_t wanted_ = 0;           // size of the frame being assembled, once known
  uint64_t consumed_ = 0;            // bytes returned by next() so far
  uint64_t last_start_ = 0;           // the stream range of the frame next() returned last
  uint64_t last_end_ = 0;
  std::deque<fd_batch> fds_;
  int holds_ = 0;
  std::vector<std::unique_ptr<capnp::word[]>> retired_;  // buffers replaced while held
};

}  // namespace actorproc::wire
