#pragma once
// Errors are values at every API surface that can cross a process.
//
// Each `errc` is classified by what the caller should do about it (the habit of
// kj/exception.h): retry later (`mailbox_full`, `timeout`), give up on that actor
// (`actor_down`, `unknown_actor`), or fix the program (`type_mismatch`,
// `unhandled_message`). A crashed child is an ordinary outcome, so
// `actor_down` carries the exit reason with it.

#include <actorproc/base/exit_reason.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace actorproc {

enum class errc : uint16_t {
  /// The deadline passed before an answer arrived. The request may still be
  /// processed by the actor; its late answer is discarded.
  timeout = 1,
  /// The destination's mailbox (its bounded write buffer) stayed full for the
  /// whole send timeout. Nothing was sent; retry later or slow down.
  mailbox_full,
  /// The actor exited before it answered; `reason` says why.
  actor_down,
  /// No actor with that id or name exists on this node (any more).
  unknown_actor,
  /// The answer was of a different schema type than the requester expected.
  type_mismatch,
  /// The actor has no handler for the message's schema type.
  unhandled_message,
  /// The handler threw; the actor exits with reason `exception` after replying.
  handler_exception,
  /// The handler of a request returned without replying.
  no_reply,
  /// A peer sent a frame that is malformed, oversized or of an unknown type.
  protocol_error,
  /// The actor process could not be started or its actor could not be built.
  launch_failed,
  /// The node is shutting down and accepts no more work.
  node_stopped,
  /// A caller passed an argument that can never work (an unknown actor type...).
  invalid_argument,
  /// An operating system call failed; `message` has strerror's text.
  system_error,
  /// The named actor is being restarted by its supervisor and its policy is to
  /// fail messages meanwhile. Retry shortly.
  actor_restarting,
  /// The other end of a pipe is closed or its process died; every message it
  /// sent before has been received (Python's EOFError).
  end_of_stream,
  /// A queue stayed full for the whole put timeout (or put_nowait found it full).
  queue_full,
  /// A queue stayed empty for the whole get timeout (or get_nowait found it empty).
  queue_empty,
  /// The queue is closed: no more puts; gets fail once it has drained.
  queue_closed,
  /// The work was cancelled before it ran (future::cancel, pool terminate).
  cancelled,
  /// The pool is closed or terminated and takes no more tasks (Python's
  /// ValueError "Pool not running").
  pool_closed,
  /// A barrier is broken (a party timed out, died or called abort), or a pool
  /// cannot start workers any more; every waiter fails until it is reset.
  broken,
  /// A value exceeded its declared bound (a command's output beyond
  /// run_options::max_output); nothing was cut off silently.
  too_large,
};

const char* to_string(errc code);

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
