#pragma once
// pipe: a direct channel between two parties, like Python's multiprocessing.Pipe.
//
//   auto [parent_end, child_end] = actorproc::make_pipe().value();
//   auto child = node.spawn("worker", {.fds = {child_end.release()}}).value();
//   parent_end.send<Job>([](Job::Builder b) { b.setId(1); });
//   auto done = parent_end.receive<Result>(5s);   // expected<message<Result>>
//
// A pipe is a socketpair carrying the same Cap'n Proto frames as a mailbox; it
// does not pass through the node. Either end may live in the node or in any
// actor: hand an end to an actor at spawn (spawn_options::fds, then
// `pipe_end(std::move(ctx.inherited_fds()[0]))` in the actor), or later with
// actor_handle::send_with_fds (then context::received_fds()).
//
// Semantics:
// - duplex (default): both ends send and receive. One-way (duplex = false), as
//   in Python: the first end only receives, the second only sends.
// - receive() waits up to its timeout (errc::timeout). When the other end is
//   closed, or the process holding it dies, it fails with end_of_stream once
//   every message already sent has been received (Python's EOFError).
// - send() waits while the socket and the end's bounded buffer are full, up to
//   its timeout (mailbox_full); sending to a closed end fails with end_of_stream.
// - Every frame received is validated like a mailbox frame: a malformed one
//   fails receive() with protocol_error, and the end is closed.
// - A pipe end is not thread-safe; use it from one thread (or one actor).

#include <actorproc/actor/context.hpp>
#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/frame_writer.hpp>
#include <actorproc/wire/message.hpp>

#include <chrono>

namespace actorproc {

struct pipe_pair;

class pipe_end {
 public:
  pipe_end() = default;
  /// Adopts a socket end made by make_pipe (in another process too).
  explicit pipe_end(unique_fd socket, wire::limits limits = {});
  pipe_end(pipe_end&&) noexcept = default;
  pipe_end& operator=(pipe_end&&) noexcept = default;

  template <class M, class Fill = no_fields>
  expected<void> send(Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout) {
    wire::envelope_builder out;
    fill(out.init_user<M>());
    return post(out, timeout);
  }

  /// The next message, which must be of schema type T (else type_mismatch).
  template <class T>
  expected<message<T>> receive(std::chrono::milliseconds timeout = default_timeout) {
    auto frame = next(timeout);
    if (!frame) return frame.error();
    return message<T>::from(std::move(*frame));
  }

  /// Whether a message can be received without waiting longer than `timeout`
  /// (true also when end_of_stream is what receive() would report).
  bool poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  /// Closes this end: the other end's receive() reports end_of_stream.
  void close();
  bool is_open() const { return socket_.valid(); }
  /// Gives up the socket, to hand it to another process (spawn_options::fds).
  unique_fd release();

 private:
  expected<void> post(wire::envelope_builder& out, std::chrono::milliseconds timeout);
  expected<wire::frame_ptr> next(std::chrono::milliseconds timeout);

  unique_fd socket_;
  wire::limits limits_;
  wire::frame_decoder in_;
  wire::frame_writer out_;
  bool peer_closed_ = false;
  // Known for ends made by make_pipe in this process; an adopted end of a
  // one-way pipe learns its direction from the kernel (end_of_stream).
  bool can_send_ = true;
  bool can_receive_ = true;
  friend expected<pipe_pair> make_pipe(bool duplex);
};

struct pipe_pair {
  pipe_end first;
  pipe_end second;
};

/// A new pipe. With duplex = false, `first` only receives and `second` only sends.
expected<pipe_pair> make_pipe(bool duplex = true);

}  // namespace actorproc
