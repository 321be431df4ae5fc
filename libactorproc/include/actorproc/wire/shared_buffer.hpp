#pragma once
// shared_buffer: a large payload that crosses processes without being copied.
//
// A payload of megabytes costs three copies and a page fault per page when it
// travels as a Data field (into the frame, through the socket, out of it). A
// shared_buffer travels instead as one descriptor: a memfd, sealed, passed with
// SCM_RIGHTS next to a small message, mapped by the receiver and read in place.
//
//   // sender (a handler, or the host)
//   auto buf = pool.acquire(n).value();           // writable, pages already faulted in
//   fill(buf.bytes());                            // written in place
//   buf.seal(n);                                  // from now on nobody can write it
//   ctx.send_with_fds<Frame>(to, {buf.share().value()}, [&](Frame::Builder b) { b.setBytes(n); });
//
//   // receiver
//   auto buf = shared_buffer::open(std::move(ctx.take_received_fds()[0])).value();
//   read(buf.data());                             // in place, read-only
//
// Lifetime rules:
// - The creator owns a buffer and is the only one who may write it, only until
//   it calls seal(). seal() unmaps the writable mapping and seals the memfd
//   (F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL): the kernel then
//   refuses every write and every size change, from every process, for good.
//   A pointer kept from bytes() points to unmapped memory after seal(): using
//   it faults (SIGSEGV), it never writes the payload.
// - Only a sealed buffer can be shared, and open() accepts only a sealed one,
//   so a receiver never reads memory its sender can still change or shrink
//   under it (a shrink would kill the reader with SIGBUS).
// - Each holder (the creator, every receiver) has its own mapping and its own
//   descriptor, released when its shared_buffer is destroyed. The memory is
//   freed when the last of them is released, whatever the order, and a process
//   that dies releases its own: a receiver that crashes leaks nothing, and a
//   sender may drop its buffer as soon as it has sent it.
// - A sealed buffer is never written again, so it is never reused: a
//   buffer_pool prepares fresh buffers ahead of time instead (buffer_pool.hpp).

#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>

#include <cstddef>
#include <span>

namespace actorproc {

class shared_buffer {
 public:
  shared_buffer() = default;
  shared_buffer(shared_buffer&& other) noexcept;
  shared_buffer& operator=(shared_buffer&& other) noexcept;
  shared_buffer(const shared_buffer&) = delete;
  shared_buffer& operator=(const shared_buffer&) = delete;
  ~shared_buffer();

  /// A new writable buffer of `bytes`, its pages allocated and mapped now
  /// (so that filling it does not fault page by page).
  static expected<shared_buffer> create(std::size_t bytes);
  /// A buffer received from another process (context::take_received_fds,
  /// message<R>::take_fds), mapped read-only. invalid_argument unless the
  /// descriptor is a memfd sealed against writes and size changes.
  static expected<shared_buffer> open(unique_fd fd);

  bool valid() const { return fd_.valid(); }
  std::size_t size() const { return size_; }
  bool sealed() const { return sealed_; }

  /// The writable bytes, for the creator before seal(); throws
  /// std::logic_error once the buffer is sealed.
  std::span<std::byte> bytes();
  /// The bytes, read in place (valid while the buffer lives).
  std::span<const std::byte> data() const { return {static_cast<const std::byte*>(map_), size_}; }

  /// Ends writing: the buffer keeps its first `used` bytes (at most size())
  /// and is sealed. The bytes stay readable through data(). Sealing twice is
  /// a no-op; `used` beyond size() is invalid_argument.
  expected<void> seal(std::size_t used);
  expected<void> seal() { return seal(size_); }

  /// A descriptor of this buffer to send (send_with_fds, reply_with_fds...);
  /// the buffer itself stays valid. invalid_argument unless it is sealed.
  expected<unique_fd> share() const;

 private:
  shared_buffer(unique_fd fd, void* map, std::size_t size, bool sealed)
      : fd_(std::move(fd)), map_(map), size_(size), sealed_(sealed) {}
  void unmap();

  unique_fd fd_;
  void* map_ = nullptr;
  std::size_t size_ = 0;
  bool sealed_ = false;
};

}  // namespace actorproc
