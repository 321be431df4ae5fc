#include <actorproc/wire/blocking_io.hpp>

#include <poll.h>

#include <cerrno>

namespace actorproc::wire {

using clock = std::chrono::steady_clock;

short poll_one(int fd, short events, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      wait_ms = static_cast<int>(std::max<long long>(left, 0));
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, wait_ms);
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

bool flush_blocking(int fd, frame_writer& out, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    switch (out.flush(fd)) {
      case flush_status::done:
        return true;
      case flush_status::failed:
        return false;
      case flush_status::would_block:
        break;
    }
    auto left =
        timeout.count() < 0 ? timeout : std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (timeout.count() >= 0 && left.count() <= 0) return false;
    short revents = poll_one(fd, POLLOUT, left);
    if (revents == 0 || (revents & (POLLERR | POLLNVAL))) return false;
  }
}

wait_result wait_for_frame(int fd, frame_decoder& in, std::chrono::milliseconds timeout,
                           std::optional<kj::ArrayPtr<const capnp::word>>& frame) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    frame = in.next();
    if (frame) return wait_result::frame;
    switch (in.read_from(fd)) {
      case read_status::data:
        continue;
      case read_status::would_block:
        break;
      case read_status::end_of_stream:
      case read_status::truncated:
      case read_status::failed:
        return wait_result::closed;
    }
    auto left =
        timeout.count() < 0 ? timeout : std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (timeout.count() >= 0 && left.count() <= 0) return wait_result::timeout;
    short revents = poll_one(fd, POLLIN, left);
    if (revents == 0) return wait_result::timeout;
    if (revents & POLLNVAL) return wait_result::closed;
  }
}

}  // namespace actorproc::wire
