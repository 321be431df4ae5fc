#include <actorproc/wire/frame_decoder.hpp>

#include <sys/socket.h>

#include <algorithm>
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
// thousands) costs a page, not 64 KiB, while a busy one soon reads read_chunk
// at a time.
constexpr std::size_t first_chunk = 2 * 1024;

uint32_t load_u32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // Cap'n Proto framing is little-endian, as is every target we build for.
}

}  // namespace

frame_decoder::frame_decoder(limits lim, std::size_t keep_bytes)
    : limits_(lim), keep_bytes_(std::max(keep_bytes, 2 * read_chunk)), chunk_(first_chunk) {}

void frame_decoder::reallocate(std::size_t words) {
  std::size_t live = end_ - begin_;
  // Not make_unique: it would zero the words, touching every page of a large buffer.
  std::unique_ptr<capnp::word[]> fresh(new capnp::word[words]);
  if (live > 0) std::memcpy(fresh.get(), base() + begin_, live);
  // Frames handed out may still be read while held: keep the old buffer until release().
  if (holds_ > 0 && buffer_) retired_.push_back(std::move(buffer_));
  buffer_ = std::move(fresh);
  capacity_words_ = words;
  begin_ = 0;
  end_ = live;
}

void frame_decoder::reserve_tail(std::size_t bytes) {
  if (end_ + bytes <= capacity_words_ * word_bytes) return;
  std::size_t live = end_ - begin_;
  std::size_t needed = (live + bytes + word_bytes - 1) / word_bytes;
  if (holds_ == 0 && needed <= capacity_words_) {
    // Move the unconsumed bytes to the front; begin_ is word-aligned, so frames stay aligned.
    if (live > 0) std::memmove(base(), base() + begin_, live);
    begin_ = 0;
    end_ = live;
    return;
  }
  // Growing (or, while held, moving): at least double, so that a run of small
  // reads grows in few steps.
  reallocate(needed <= capacity_words_ ? capacity_words_ : std::max(needed, 2 * capacity_words_));
}

read_status frame_decoder::read_from(int fd, bool block) {
  // A large frame whose header has come is read straight into room for all of
  // it: one allocation, no copies as it grows, and few reads. The room is
  // allocated untouched, so a header announcing a huge frame costs no memory
  // until its bytes really arrive.
  // Otherwise a chunk, for as many small frames as one read can bring.
  std::size_t missing = wanted_ > buffered_bytes() ? wanted_ - buffered_bytes() : 0;
  std::size_t room = capacity_words_ * word_bytes - end_;
  if (missing > 0 ? room < missing : room < chunk_) reserve_tail(missing > 0 ? missing : chunk_);
  room = capacity_words_ * word_bytes - end_;

  iovec iov{base() + end_, room};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds_per_frame)];
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

  fd_batch batch{stream_end(), stream_end() + static_cast<uint64_t>(std::max<ssize_t>(n, 0)), {}};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      batch.fds.emplace_back(received);
    }
  }
  if (!batch.fds.empty()) {
    std::size_t pending = pending_fds() + batch.fds.size();
    fds_.push_back(std::move(batch));  // owned now, closed with the decoder whatever follows
    if (pending > max_pending_fds) {
      fds_.clear();  // the stream is broken: nothing will claim them
      throw protocol_error(std::to_string(pending) + " descriptor(s) wait for their frames (limit " +
                           std::to_string(max_pending_fds) + ")");
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) {
    fds_.clear();
    throw protocol_error("a frame carried more descriptors than one read accepts");
  }

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
  if (begin_ == end_ && holds_ == 0 && capacity_words_ * word_bytes > keep_bytes_ &&
      last_end_ - last_start_ < keep_bytes_) {
    // The large frames that grew the buffer are over (the last one was small),
    // and this reader keeps less. A run of large frames keeps it: each would
    // fault its pages in again.
    buffer_.reset();
    capacity_words_ = 0;
    begin_ = end_ = 0;
  }
  std::size_t frame_bytes = complete_frame_bytes();
  if (frame_bytes == 0) return std::nullopt;
  wanted_ = 0;
  last_start_ = consumed_;
  last_end_ = consumed_ + frame_bytes;
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
  unique_fd fd = std::move(fds_.front().fds.front());
  fds_.front().fds.pop_front();
  if (fds_.front().fds.empty()) fds_.pop_front();
  return fd;
}

std::vector<unique_fd> frame_decoder::claim_fds(std::size_t count) {
  std::vector<unique_fd> claimed;
  if (count > 0) {
    // Its descriptors came with the read that held its first byte, all of them.
    bool with_it = !fds_.empty() && fds_.front().first <= last_start_ && last_start_ < fds_.front().last;
    std::size_t came = with_it ? fds_.front().fds.size() : 0;
    if (came != count) {
      fds_.clear();  // the stream is broken: nothing will claim them
      throw protocol_error("a frame announces " + std::to_string(count) + " descriptor(s), but " +
                           std::to_string(came) + " came with it");
    }
    for (auto& fd : fds_.front().fds) claimed.push_back(std::move(fd));
    fds_.pop_front();
  }
  // Descriptors whose read ended within this frame could only belong to it or
  // to an earlier frame: nobody announced them.
  if (!fds_.empty() && fds_.front().last <= last_end_) {
    std::size_t unclaimed = fds_.front().fds.size();
    fds_.clear();
    throw protocol_error(std::to_string(unclaimed) + " descriptor(s) came with no frame that announced them");
  }
  return claimed;
}

std::size_t frame_decoder::pending_fds() const {
  std::size_t total = 0;
  for (const auto& batch : fds_) total += batch.fds.size();
  return total;
}

}  // namespace actorproc::wire
