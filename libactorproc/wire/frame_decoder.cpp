#include <actorproc/wire/frame_decoder.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace actorproc::wire {
namespace {

constexpr std::size_t word_bytes = sizeof(capnp::word);
// Read up to this much per recvmsg(): many small frames per system call.
constexpr std::size_t read_chunk = 64 * 1024;
// A decoder starts with room for this much, and doubles it, up to read_chunk,
// each time a read fills all the room it had: an idle peer (a node has
// thousands) costs a page, not 64 KiB zeroed, while a busy one soon reads
// read_chunk at a time.
constexpr std::size_t first_chunk = 2 * 1024;
// Keep at most this much buffer while idle; a larger one was grown for one big frame.
constexpr std::size_t idle_capacity = 4 * read_chunk;
// Descriptors accepted per recvmsg(); more are refused by the kernel (MSG_CTRUNC).
constexpr std::size_t max_fds_per_read = 16;

uint32_t load_u32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // Cap'n Proto framing is little-endian, as is every target we build for.
}

}  // namespace

frame_decoder::frame_decoder(limits lim) : limits_(lim), chunk_(first_chunk) {}

void frame_decoder::reserve_tail(std::size_t bytes) {
  std::size_t capacity = buffer_.size() * word_bytes;
  if (end_ + bytes <= capacity) return;
  std::size_t live = end_ - begin_;
  if (holds_ > 0) {
    // Frames handed out may still be read: copy the live bytes to a new buffer
    // and keep the old one alive until release().
    std::vector<capnp::word> fresh((live + bytes + word_bytes - 1) / word_bytes + buffer_.size());
    if (live > 0) std::memcpy(fresh.data(), base() + begin_, live);
    retired_.push_back(std::move(buffer_));
    buffer_ = std::move(fresh);
    begin_ = 0;
    end_ = live;
    return;
  }
  // Move the unconsumed bytes to the front; begin_ is word-aligned, so frames stay aligned.
  if (begin_ > 0) {
    if (live > 0) std::memmove(base(), base() + begin_, live);
    begin_ = 0;
    end_ = live;
  }
  if (end_ + bytes > capacity) {
    std::size_t needed = (end_ + bytes + word_bytes - 1) / word_bytes;
    // Not resize(): capnp::word is not copyable under clang, so copy the bytes.
    std::vector<capnp::word> bigger(std::max(needed, buffer_.size() * 2));
    if (end_ > 0) std::memcpy(bigger.data(), buffer_.data(), end_);
    buffer_ = std::move(bigger);
  }
}

read_status frame_decoder::read_from(int fd, bool block) {
  // A big frame is read in growing chunks, so few reads are needed; but never more
  // room than the bytes already received, so that a header merely announcing a
  // huge frame does not make the node allocate it.
  std::size_t missing = wanted_ > buffered_bytes() ? wanted_ - buffered_bytes() : 0;
  std::size_t want = std::max(chunk_, std::min(missing, buffered_bytes()));
  reserve_tail(want);
  std::size_t room = buffer_.size() * word_bytes - end_;

  iovec iov{base() + end_, room};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds_per_read)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, (block ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? read_status::would_block : read_status::failed;

  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds_.emplace_back(received);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) throw protocol_error("a frame carried more descriptors than one read accepts");

  if (n == 0) return buffered_bytes() == 0 ? read_status::end_of_stream : read_status::truncated;
  if (static_cast<std::size_t>(n) == room && chunk_ < read_chunk) chunk_ = std::min(2 * chunk_, read_chunk);
  end_ += static_cast<std::size_t>(n);
  return read_status::data;
}

void frame_decoder::feed(const void* data, std::size_t size) {
  if (size == 0) return;
  reserve_tail(size);
  std::memcpy(base() + end_, data, size);
  end_ += size;
}

std::size_t frame_decoder::complete_frame_bytes() {
  std::size_t frame_bytes = frame_bytes_at(begin_);
  if (frame_bytes == SIZE_MAX) return 0;  // not even its header yet
  if (frame_bytes > buffered_bytes()) {
    wanted_ = frame_bytes;
    return 0;
  }
  return frame_bytes;
}

std::size_t frame_decoder::frame_bytes_at(std::size_t at) {
  std::size_t available = end_ - at;
  if (available < word_bytes) return SIZE_MAX;

  const std::byte* head = base() + at;
  uint64_t segments = uint64_t{load_u32(head)} + 1;
  if (segments > limits_.max_segments) {
    throw protocol_error("frame announces " + std::to_string(segments) + " segments (limit " +
                         std::to_string(limits_.max_segments) + ")");
  }
  // The segment table: a count, one size per segment, padded to a whole word.
  std::size_t table_bytes = ((4 * (segments + 1)) + word_bytes - 1) / word_bytes * word_bytes;
  if (available < table_bytes) return SIZE_MAX;

  uint64_t total_words = 0;
  for (uint64_t i = 0; i < segments; ++i) total_words += load_u32(head + 4 + 4 * i);
  uint64_t frame_bytes = table_bytes + total_words * word_bytes;
  if (total_words == 0) throw protocol_error("frame has no content (all segments are empty)");
  if (frame_bytes > limits_.max_frame_bytes) {
    throw protocol_error("frame of " + std::to_string(frame_bytes) + " bytes exceeds the limit of " +
                         std::to_string(limits_.max_frame_bytes) + " bytes");
  }
  return frame_bytes;
}

std::optional<kj::ArrayPtr<const capnp::word>> frame_decoder::peek(std::size_t offset) {
  std::size_t at = begin_ + offset;
  if (at >= end_) return std::nullopt;
  std::size_t frame_bytes = frame_bytes_at(at);
  if (frame_bytes > end_ - at) return std::nullopt;
  return kj::arrayPtr(reinterpret_cast<const capnp::word*>(base() + at), frame_bytes / word_bytes);
}

std::optional<kj::ArrayPtr<const capnp::word>> frame_decoder::next() {
  if (begin_ == end_ && holds_ == 0 && buffer_.size() * word_bytes > idle_capacity) {
    // The big frame that grew the buffer is gone: give the memory back.
    buffer_ = std::vector<capnp::word>(idle_capacity / word_bytes);
    begin_ = end_ = 0;
  }
  std::size_t frame_bytes = complete_frame_bytes();
  if (frame_bytes == 0) return std::nullopt;
  wanted_ = 0;
  auto frame = kj::arrayPtr(reinterpret_cast<const capnp::word*>(base() + begin_), frame_bytes / word_bytes);
  begin_ += frame_bytes;
  consumed_ += frame_bytes;
  return frame;
}

void frame_decoder::release() {
  if (--holds_ == 0) retired_.clear();
}

unique_fd frame_decoder::take_fd() {
  if (fds_.empty()) return {};
  unique_fd fd = std::move(fds_.front());
  fds_.pop_front();
  return fd;
}

}  // namespace actorproc::wire
