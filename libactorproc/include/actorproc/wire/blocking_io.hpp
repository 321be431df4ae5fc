#pragma once
// Blocking helpers over the non-blocking frame_writer/frame_decoder, for the
// single-threaded sides of the protocol (the zygote, the worker loop) that have
// nothing else to do while they wait.

#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/frame_writer.hpp>

#include <chrono>

namespace actorproc::wire {

/// Flushes `out` completely, waiting for the socket up to `timeout`
/// (negative: forever). False on timeout or when the peer is gone.
bool flush_blocking(int fd, frame_writer& out, std::chrono::milliseconds timeout);

enum class wait_result { frame, timeout, closed };

/// Waits until `in` holds a complete frame, reading from `fd` up to `timeout`
/// (negative: forever). `closed` covers end of stream, truncation and errors.
/// Throws protocol_error like frame_decoder::next().
wait_result wait_for_frame(int fd, frame_decoder& in, std::chrono::milliseconds timeout,
                           std::optional<kj::ArrayPtr<const capnp::word>>& frame);

/// poll() for one descriptor, retrying on EINTR with the remaining time.
/// Returns the revents, 0 on timeout.
short poll_one(int fd, short events, std::chrono::milliseconds timeout);

}  // namespace actorproc::wire
