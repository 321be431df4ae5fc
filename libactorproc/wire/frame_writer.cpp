#include <actorproc/wire/frame_writer.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace actorproc::wire {
namespace {

// Once this much has been written from the front (and it is at least half the
// buffer), move the rest down instead of letting the buffer creep forward forever.
constexpr std::size_t compact_threshold = 256 * 1024;

std::size_t table_bytes(std::size_t segments) { return (4 * (segments + 1) + 7) / 8 * 8; }

ssize_t send_some(int fd, const std::byte* data, std::size_t size, std::vector<unique_fd>* fds) {
  iovec iov{const_cast<std::byte*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (fds != nullptr && !fds->empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds->size()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds->size());
    for (std::size_t i = 0; i < fds->size(); ++i) {
      int raw = (*fds)[i].get();
      std::memcpy(CMSG_DATA(c) + i * sizeof(int), &raw, sizeof(int));
    }
  }
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace

std::size_t framed_size(capnp::MessageBuilder& message) {
  auto segments = message.getSegmentsForOutput();
  std::size_t bytes = table_bytes(segments.size());
  for (auto segment : segments) bytes += segment.asBytes().size();
  return bytes;
}

std::byte* frame_writer::grow(std::size_t bytes) {
  if (head_ == bytes_.size()) {
    bytes_.clear();
    head_ = boundary_ = 0;
  }
  std::size_t at = bytes_.size();
  bytes_.resize(at + bytes);
  return bytes_.data() + at;
}

std::size_t frame_writer::append(capnp::MessageBuilder& message, std::vector<unique_fd> fds, std::size_t max_bytes) {
  auto segments = message.getSegmentsForOutput();
  std::size_t table = table_bytes(segments.size());
  std::size_t total = table;
  for (auto segment : segments) total += segment.asBytes().size();
  if (total > max_bytes) return total;

  std::byte* out = grow(total);
  if (!fds.empty()) attachments_.push_back({static_cast<std::size_t>(out - bytes_.data()), std::move(fds)});
  std::memset(out, 0, table);
  uint32_t count_minus_one = static_cast<uint32_t>(segments.size() - 1);
  std::memcpy(out, &count_minus_one, 4);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    uint32_t words = static_cast<uint32_t>(segments[i].size());
    std::memcpy(out + 4 + 4 * i, &words, 4);
  }
  out += table;
  for (auto segment : segments) {
    auto raw = segment.asBytes();
    std::memcpy(out, raw.begin(), raw.size());
    out += raw.size();
  }
  return total;
}

void frame_writer::append(kj::ArrayPtr<const capnp::word> frame, std::vector<unique_fd> fds) {
  auto raw = frame.asBytes();
  std::byte* out = grow(raw.size());
  if (!fds.empty()) attachments_.push_back({static_cast<std::size_t>(out - bytes_.data()), std::move(fds)});
  std::memcpy(out, raw.begin(), raw.size());
}

void frame_writer::append_ahead(capnp::MessageBuilder& message) {
  // Framed the common way, then moved to the ahead lane.
  frame_writer framed;
  framed.append(message);
  if (ahead_head_ == ahead_.size()) {
    ahead_.clear();
    ahead_head_ = 0;
  }
  ahead_.insert(ahead_.end(), framed.bytes_.begin(), framed.bytes_.end());
}

std::size_t frame_writer::frame_end(std::size_t start) const {
  const std::byte* head = bytes_.data() + start;
  uint32_t count_minus_one;
  std::memcpy(&count_minus_one, head, 4);
  std::size_t segments = std::size_t{count_minus_one} + 1;
  std::size_t total = table_bytes(segments);
  for (std::size_t i = 0; i < segments; ++i) {
    uint32_t words;
    std::memcpy(&words, head + 4 + 4 * i, 4);
    total += std::size_t{words} * sizeof(capnp::word);
  }
  return start + total;
}

bool frame_writer::at_frame_boundary() {
  // Walks only the frames written since the last call; this runs only while
  // frames wait in the ahead lane (and at compaction).
  while (boundary_ < head_) {
    std::size_t end = frame_end(boundary_);
    if (end > head_) return false;
    boundary_ = end;
  }
  return true;
}

flush_status frame_writer::flush_ahead(int fd) {
  while (ahead_head_ < ahead_.size()) {
    ssize_t n = send_some(fd, ahead_.data() + ahead_head_, ahead_.size() - ahead_head_, nullptr);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? flush_status::would_block : flush_status::failed;
    ahead_head_ += static_cast<std::size_t>(n);
  }
  ahead_.clear();
  ahead_head_ = 0;
  return flush_status::done;
}

flush_status frame_writer::flush(int fd) {
  for (;;) {
    // The ahead lane goes first whenever the stream is between two frames (or
    // is already in the middle of an ahead frame).
    if (ahead_head_ < ahead_.size() && (ahead_head_ > 0 || at_frame_boundary())) {
      if (auto status = flush_ahead(fd); status != flush_status::done) return status;
    }
    if (head_ == bytes_.size()) break;
    // Write up to the next frame that carries descriptors, then that frame with them.
    std::size_t stop = bytes_.size();
    std::vector<unique_fd>* fds = nullptr;
    std::size_t next = 0;
    if (!attachments_.empty() && attachments_.front().offset == head_) {
      fds = &attachments_.front().fds;
      next = 1;
    }
    if (attachments_.size() > next) stop = attachments_[next].offset;
    // With frames waiting ahead, only to the end of the current frame.
    if (ahead_head_ < ahead_.size()) {
      at_frame_boundary();
      stop = std::min(stop, frame_end(boundary_));
    }
    ssize_t n = send_some(fd, bytes_.data() + head_, stop - head_, fds);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? flush_status::would_block : flush_status::failed;
    if (fds != nullptr) attachments_.pop_front();  // the kernel holds its own copies now
    head_ += static_cast<std::size_t>(n);
    // Only once the written front is also most of the buffer: moving a large
    // buffer's tail down after every partial write would cost a copy of the
    // whole buffer per write (quadratic for one 64 MiB frame).
    if (head_ >= compact_threshold && head_ < bytes_.size() && head_ >= bytes_.size() / 2) {
      // Keep the start of head_'s frame: only the bytes before it go.
      at_frame_boundary();
      bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(boundary_));
      for (auto& a : attachments_) a.offset -= boundary_;
      head_ -= boundary_;
      boundary_ = 0;
    }
  }
  bytes_.clear();
  head_ = boundary_ = 0;
  return flush_status::done;
}

void frame_writer::take_back(std::size_t bytes) {
  bytes_.resize(bytes_.size() - std::min(bytes, bytes_.size() - head_));
}

void frame_writer::clear() {
  bytes_.clear();
  head_ = boundary_ = 0;
  attachments_.clear();
  ahead_.clear();
  ahead_head_ = 0;
}

}  // namespace actorproc::wire
