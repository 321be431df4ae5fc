#pragma once
// Errors are values at every API surface that can cross a process.
//
// Each `errc` belongs to a class that says what the caller should do about it
// (the habit of kj::Exception::Type): classify(code) gives it, and each
// enumerator's comment names it. A crashed child is an ordinary outcome, so
// `actor_down` carries the exit reason with it.
//
//   class         what the caller should do                 errc
//   retry_later   the same call may succeed later:          timeout, mailbox_full, actor_restarting,
//                 wait, slow down, or try again             queue_full, queue_empty
//   peer_gone     the other side is gone or finished:       actor_down, unknown_actor, protocol_error,
//                 stop using it (restart it if yours)       node_stopped, end_of_stream, queue_closed
//   usage_bug     the program asked for something that can  type_mismatch, unhandled_message, no_reply,
//                 never work: fix the program               invalid_argument, pool_closed
//   limit         a declared bound was exceeded: ask for    too_large
//                 less (a smaller chunk, a larger bound)
//   failed        the operation failed for good: report     handler_exception, launch_failed,
//                 it; repeating it unchanged will not help  system_error, cancelled, broken

#include <actorproc/base/exit_reason.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace actorproc {

enum class errc : uint16_t {
  /// The deadline passed before an answer arrived. The request may still be
  /// processed by the actor; its late answer is discarded. [retry_later]
  timeout = 1,
  /// The destination's mailbox (its bounded write buffer) stayed full for the
  /// whole send timeout. Nothing was sent; retry later or slow down. [retry_later]
  mailbox_full,
  /// The actor exited before it answered; `reason` says why. [peer_gone]
  actor_down,
  /// No actor with that id or name exists on this node (any more). [peer_gone]
  unknown_actor,
  /// The answer was of a different schema type than the requester expected. [usage_bug]
  type_mismatch,
  /// The actor has no handler for the message's schema type. [usage_bug]
  unhandled_message,
  /// The handler threw; the actor exits with reason `exception` after replying. [failed]
  handler_exception,
  /// The handler of a request returned without replying. [usage_bug]
  no_reply,
  /// A peer sent a frame that is malformed, oversized or of an unknown type. [peer_gone]
  protocol_error,
  /// The actor process could not be started or its actor could not be built. [failed]
  launch_failed,
  /// The node is shutting down and accepts no more work. [peer_gone]
  node_stopped,
  /// A caller passed an argument that can never work (an unknown actor type...). [usage_bug]
  invalid_argument,
  /// An operating system call failed; `message` has strerror's text. [failed]
  system_error,
  /// The named actor is being restarted by its supervisor and its policy is to
  /// fail messages meanwhile. Retry shortly. [retry_later]
  actor_restarting,
  /// The other end of a pipe is closed or its process died; every message it
  /// sent before has been received (Python's EOFError). [peer_gone]
  end_of_stream,
  /// A queue stayed full for the whole put timeout (or put_nowait found it full). [retry_later]
  queue_full,
  /// A queue stayed empty for the whole get timeout (or get_nowait found it empty). [retry_later]
  queue_empty,
  /// The queue is closed: no more puts; gets fail once it has drained. [peer_gone]
  queue_closed,
  /// The work was cancelled before it ran (future::cancel, pool terminate). [failed]
  cancelled,
  /// The pool is closed or terminated and takes no more tasks (Python's
  /// ValueError "Pool not running"). [usage_bug]
  pool_closed,
  /// A barrier is broken (a party timed out, died or called abort), or a pool
  /// cannot start workers any more; every waiter fails until it is reset. [failed]
  broken,
  /// A value exceeded its declared bound (a command's output beyond
  /// run_options::max_output); nothing was cut off silently. [limit]
  too_large,
};

const char* to_string(errc code);

/// What the caller of a failed operation should do (see the table above).
enum class error_class : uint8_t {
  /// The same call may succeed later: wait, slow down, or try again.
  retry_later,
  /// The other side is gone or has finished: stop using it (restart it if it is yours).
  peer_gone,
  /// The call can never work as made: fix the program.
  usage_bug,
  /// A declared bound was exceeded: ask for less, or raise the bound.
  limit,
  /// The operation failed for good: report it; repeating it unchanged will not help.
  failed,
};

error_class classify(errc code);
const char* to_string(error_class c);

struct error {
  errc code = errc::system_error;
  std::string message;
  /// Set when `code` is `actor_down` (and for launch failures).
  std::optional<exit_reason> reason;

  error() = default;
  error(errc c, std::string msg = {}, std::optional<exit_reason> why = std::nullopt)
      : code(c), message(std::move(msg)), reason(std::move(why)) {}
};

/// "actor_down: counter#3 exited (signal 11 (SIGSEGV))"
std::string to_string(const error& err);

}  // namespace actorproc
