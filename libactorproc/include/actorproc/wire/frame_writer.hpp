#pragma once
// frame_writer: a per-link output buffer of frames, flushed without blocking.
//
// Frames are appended into one contiguous byte buffer and written with as few
// send() calls as possible: measured on this kind of machine, one write of 1000
// packed 64-byte messages is ~100x faster than 1000 writes and 3-4x faster than a
// writev() of 1000 iovecs (see shared/anchors/RESULTS.md, B2).
//
// A frame may carry descriptors; they are sent with SCM_RIGHTS on the first byte
// of that frame, so the receiver gets them in frame order.
//
// The writer does not bound itself: its owner (a node link, the worker loop)
// checks size() against the mailbox limit before appending, and applies
// backpressure.

#include <actorproc/base/unique_fd.hpp>

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace actorproc::wire {

enum class flush_status {
  /// Everything was written.
  done,
  /// The socket is full; call again when it is writable.
  would_block,
  /// The peer is gone or send() failed; errno is preserved.
  failed,
};

class frame_writer {
 public:
  /// Appends one message in stream framing, with descriptors to attach to it,
  /// unless framed it exceeds `max_bytes`. Returns its framed size either way.
  std::size_t append(capnp::MessageBuilder& message, std::vector<unique_fd> fds = {},
                     std::size_t max_bytes = SIZE_MAX);
  /// Appends one already-framed message (forwarding a frame unchanged), with
  /// the descriptors that came with it.
  void append(kj::ArrayPtr<const capnp::word> frame, std::vector<unique_fd> fds = {});
  /// Appends a message that goes ahead of every frame not yet started (a
  /// frame already partly written is finished first, so the stream stays
  /// whole). For system messages that must not wait behind a full mailbox;
  /// never with descriptors, whose order follows the frames'. Such messages
  /// keep their order among themselves.
  void append_ahead(capnp::MessageBuilder& message);

  /// Writes as much as the socket takes now. Never blocks, never raises SIGPIPE.
  flush_status flush(int fd);

  std::size_t size() const { return bytes_.size() - head_ + ahead_.size() - ahead_head_; }
  /// The bytes not yet written, in stream order (valid until the next call).
  /// Only for a writer that holds no frames appended ahead.
  std::span<const std::byte> buffered() const { return {bytes_.data() + head_, bytes_.size() - head_}; }
  bool empty() const { return size() == 0; }
  /// Removes the last `bytes` appended, which must all be unwritten and carry
  /// no descriptors (a message withdrawn before any of it left).
  void take_back(std::size_t bytes);
  /// Drops everything still buffered (the peer is gone).
  void clear();

 private:
  std::byte* grow(std::size_t bytes);
  // The end of the frame starting at `start` in bytes_ (from its segment table).
  std::size_t frame_end(std::size_t start) const;
  // Whether head_ is between two frames (moves boundary_ up to head_'s frame).
  bool at_frame_boundary();
  flush_status flush_ahead(int fd);

  // Grows without zeroing: every byte appended is written at once, and zeroing
  // a large frame's room first would touch each of its pages twice.
  template <class T>
  struct uninitialized_allocator : std::allocator<T> {
    template <class U>
    struct rebind {
      using other = uninitialized_allocator<U>;
    };
    template <class U>
    void construct(U* p) noexcept {
      ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  };
  using byte_buffer = std::vector<std::byte, uninitialized_allocator<std::byte>>;

  struct attachment {
    std::size_t offset;  // absolute offset in bytes_ of the frame's first byte
    std::vector<unique_fd> fds;
  };
  byte_buffer bytes_;
  std::size_t head_ = 0;      // first byte not yet written
  std::size_t boundary_ = 0;  // the start of a frame in bytes_, at or before head_
  std::deque<attachment> attachments_;
  byte_buffer ahead_;  // frames appended ahead, written at the next frame boundary of bytes_
  std::size_t ahead_head_ = 0;
};

/// Frame size in bytes of `message` once framed (segment table included).
std::size_t framed_size(capnp::MessageBuilder& message);

}  // namespace actorproc::wire
