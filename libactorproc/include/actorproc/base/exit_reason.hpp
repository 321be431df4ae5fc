#pragma once
// Why an actor process ended, as a value.
//
// Supervisors decide what to do from an exit reason, so it is never a string to
// parse: `kind` says what happened and the fields beside it say the details. The
// node builds it from two sources: the status the kernel reports when the child is
// reaped (exit code, signal, core dump), and the reason the worker announced just
// before it exited (an escaping exception, an allocation that failed, a protocol
// error it detected). The
// node's own knowledge wins over both: a child the node killed for sending a
// malformed frame is `protocol_error`, not "killed by SIGKILL".

#include <cstdint>
#include <string>

namespace actorproc {

struct exit_reason {
  enum class kind : uint8_t {
    /// Exited with status 0, or stopped on request.
    normal,
    /// Stopped by its supervisor or by the node shutting down.
    shutdown,
    /// Exited with a non-zero status, in `code`.
    exit_code,
    /// Killed by signal `signal`; `core_dumped` says whether it dumped core.
    signal,
    /// An exception escaped a handler ("let it crash"); `detail` has its text.
    exception,
    /// The actor sent a frame that is malformed, oversized or of an unknown type.
    protocol_error,
    /// The process could not be started, or its actor could not be constructed.
    launch_failed,
    /// The actor missed a heartbeat or a reply deadline and was killed.
    hung,
    /// An allocation failed: std::bad_alloc escaped a handler (the kernel
    /// refused memory, say under RLIMIT_AS or RLIMIT_DATA); `detail` names the
    /// limits in force. The kernel's OOM killer sends SIGKILL, which nothing
    /// tells apart from another SIGKILL: that is reported as `signal`.
    oom,
  };

  kind what = kind::normal;
  int code = 0;
  int signal = 0;
  bool core_dumped = false;
  std::string detail;

  static exit_reason normal() { return {}; }
  static exit_reason shutdown() { return {kind::shutdown, 0, 0, false, {}}; }
  static exit_reason exited(int code) { return {kind::exit_code, code, 0, false, {}}; }
  static exit_reason killed(int signal, bool core_dumped = false) { return {kind::signal, 0, signal, core_dumped, {}}; }
  static exit_reason because(kind k, std::string detail) { return {k, 0, 0, false, std::move(detail)}; }

  /// True for the reasons OTP calls normal: a transient child is not restarted
  /// after them.
  bool is_normal() const { return what == kind::normal || what == kind::shutdown; }

  friend bool operator==(const exit_reason&, const exit_reason&) = default;
};

/// "normal", "exit code 3", "signal 11 (SIGSEGV, core dumped)", "exception: boom"...
std::string to_string(const exit_reason& reason);
const char* to_string(exit_reason::kind kind);

}  // namespace actorproc
