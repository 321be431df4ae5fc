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
// - send() in an actor batches, as the actor's own sends do (context.hpp):
//   consecutive sends go into one frame, written with one system call when the
//   actor next waits (its handler returns, it makes a request, or it waits on
//   any pipe end), at the next call on this end, or once 16 KiB are batched.
//   So nothing waits in the actor's process once it waits itself, and a burst
//   costs one write per 16 KiB instead of one per message. The write before
//   the actor waits takes everything the end holds, a message that an
//   earlier send could write only in part included, waiting for the socket up
//   to the end's linger, as close() does; a later send waits while an earlier
//   batch is still unwritten.
//   A message batched but not yet written is lost if the actor is killed
//   (as its own sends are); a normal exit and close() deliver it.
// - send() on a thread of the node (no actor loop there to write later)
//   returns once the socket has taken the whole message, as Python's
//   Connection.send() does.
// - Either way, a send waits up to its timeout for room: if not a byte of the
//   message (of an earlier batch, in an actor) could leave by then, the
//   message is not sent and send() fails with mailbox_full; if part of it
//   left, the rest stays buffered (unsent_bytes()) and leaves during the next
//   calls on this end, at close, or (in an actor) when the actor next waits.
//   A message larger than max_message_bytes fails with too_large; sending to
//   a closed end fails with end_of_stream (in an actor, output already
//   batched when the other end went away is counted as lost by close()).
// - Every wait (send, receive, poll, flush, close) moves bytes both ways: it
//   writes pending output whenever the socket takes it and reads input
//   whenever it comes. So two ends that send large messages to each other at
//   once, or long streams both ways, never stall each other. The input read
//   ahead while output waits is kept, up to twice the frame limit; beyond that
//   the wait stops reading and fails at its timeout.
// - receive() waits up to its timeout (errc::timeout). When the other end is
//   closed, or the process holding it dies, it fails with end_of_stream once
//   every message already sent has been received (Python's EOFError). One
//   read(2) takes in as many messages as the socket holds.
// - poll(timeout) says whether receive() would return at once; a zero or
//   negative timeout does not wait (Python's poll()).
// - Nothing accepted by send() is dropped silently. close(), the destructor,
//   and the exit of an actor whose object holds the end (its destructor) first
//   deliver what is buffered, waiting up to the end's linger (default_linger,
//   see set_linger()). If the linger passes or the other end is gone first,
//   close() returns an error that counts the bytes not delivered, and the
//   destructor logs that count on stderr. flush(timeout) waits the same way
//   without closing; unsent_bytes() says how much is still buffered.
// - Every timeout of a pipe end that is zero or negative means "do not wait".
// - Every frame received is validated like a mailbox frame: a malformed one
//   fails receive() with protocol_error, and the end is closed.
// - The largest message is max_message_bytes (64 MiB); the pipe's frame limit
//   leaves room above it for the envelope and a batch.
// - A pipe end is not thread-safe; use it from one thread (or one actor). A
//   send's fill function must only fill its message: using the same end from
//   inside it throws std::logic_error.

#include <actorproc/actor/context.hpp>
#include <actorproc/base/expected.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/wire/batch_builder.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/frame_writer.hpp>
#include <actorproc/wire/message.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace actorproc {

struct pipe_pair;

class pipe_end {
 public:
  /// How long close() and the destructor wait, by default, for buffered output
  /// to be taken by the other end (the same bound as a send into a full pipe).
  static constexpr std::chrono::milliseconds default_linger = default_timeout;

  /// The largest message a pipe carries (a 64 MiB payload fits).
  static constexpr std::size_t max_message_bytes = std::size_t{64} << 20;
  /// The frame limit of both ends: the largest message, its envelope, and
  /// the share of a batch (16 KiB) that may precede it in one frame.
  static wire::limits default_limits();

  pipe_end();
  /// Adopts a socket end made by make_pipe (in another process too).
  explicit pipe_end(unique_fd socket, wire::limits limits = default_limits());
  pipe_end(pipe_end&& other) noexcept;
  /// Closes this end first (with its linger), as the destructor does.
  pipe_end& operator=(pipe_end&& other) noexcept;
  /// Closes the end with its linger; a loss is logged on stderr.
  ~pipe_end();

  template <class M, class Fill = no_fields>
  expected<void> send(Fill&& fill = {}, std::chrono::milliseconds timeout = default_timeout) {
    auto batch = open_batch(timeout);
    if (!batch) return batch.error();
    auto index = static_cast<unsigned>((*batch)->count());
    filling_ = true;
    try {
      fill((*batch)->template add<M>());
    } catch (...) {
      filling_ = false;
      (*batch)->drop(index);  // nothing half-filled is ever sent
      throw;
    }
    filling_ = false;
    return added(index, timeout);
  }

  /// The next message, which must be of schema type T (else type_mismatch).
  template <class T>
  expected<message<T>> receive(std::chrono::milliseconds timeout = default_timeout) {
    auto in = next(timeout);
    if (!in) return in.error();
    return message<T>::from(std::move(in->frame), in->payload);
  }

  /// Whether a message can be received without waiting longer than `timeout`
  /// (true also when end_of_stream is what receive() would report).
  bool poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  /// Waits up to `timeout` until the other end has taken every byte sent.
  /// Fails with timeout, or end_of_stream when the other end is gone; the
  /// message counts the bytes still undelivered (they stay buffered on timeout).
  expected<void> flush(std::chrono::milliseconds timeout);
  /// Bytes accepted by send() that the other end has not taken yet.
  std::size_t unsent_bytes() const;

  /// Delivers what is buffered (waiting up to the linger), then closes this
  /// end: the other end's receive() reports end_of_stream after it. The end is
  /// closed either way; an error says how many bytes were not delivered.
  expected<void> close();
  expected<void> close(std::chrono::milliseconds linger);
  /// The bound close() (without an argument) and the destructor wait.
  void set_linger(std::chrono::milliseconds linger) { linger_ = linger; }

  bool is_open() const { return socket_.valid(); }
  /// Gives up the socket, to hand it to another process (spawn_options::fds).
  /// What is still buffered is delivered first, as by close().
  unique_fd release();

 private:
  struct pending_hook;  // registered with the actor's loop while output is pending (pipe.cpp)
  struct received {
    std::shared_ptr<wire::owned_frame> frame;
    schema::Payload::Reader payload;
  };
  // The batch a send fills, once no earlier batch waits for the socket.
  expected<wire::batch_builder*> open_batch(std::chrono::milliseconds timeout);
  // The message at `index` of the batch is filled: refuses it if too large,
  // else writes it (node thread) or leaves it batched (actor).
  expected<void> added(unsigned index, std::chrono::milliseconds timeout);
  expected<received> next(std::chrono::milliseconds timeout);
  // Writes the batch and what is buffered before the actor waits (pending_hook).
  void flush_before_wait(bool wait);

  // Moves bytes both ways until `done()` holds (true), or the deadline passes
  // or nothing can change any more (false).
  template <class Done>
  bool pump(Done&& done, std::chrono::steady_clock::time_point deadline);
  void read_input();
  void write_output();
  // What send and flush wait for: all output taken, or no taker left.
  bool output_settled() const { return out_.empty() || write_failed_; }
  // What receive and poll wait for (throws protocol_error on a bad header).
  bool input_ready() { return batched_input() || peer_closed_ || in_.has_complete_frame(); }
  bool batched_input() const { return batch_in_ && batch_in_next_ < batch_in_size_; }
  // Delivers what is buffered within the linger, or logs how much was lost
  // (`how` the end was given up); the output buffer is empty after.
  void deliver_or_log(const char* how);
  // Closes with the linger; logs what could not be delivered.
  void close_and_log();

  unique_fd socket_;
  wire::limits limits_;
  wire::frame_decoder in_;
  wire::frame_writer out_;
  std::unique_ptr<wire::batch_builder> batch_;  // sends not yet framed into out_
  std::unique_ptr<pending_hook> hook_;
  bool filling_ = false;                                      // a send's fill function is running
  std::shared_ptr<wire::owned_frame> batch_in_;        // a batch frame received, handed out message by message
  unsigned batch_in_next_ = 0;
  unsigned batch_in_size_ = 0;
  std::chrono::milliseconds linger_ = default_linger;
  bool peer_closed_ = false;  // no more input will come
  bool write_failed_ = false;  // the other end stopped taking output
  std::string broken_;         // why the input stream cannot be read on, if it cannot
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
