#include <actorproc/base/exit_reason.hpp>

#include <string.h>

namespace actorproc {

const char* to_string(exit_reason::kind kind) {
  switch (kind) {
    case exit_reason::kind::normal:
      return "normal";
    case exit_reason::kind::shutdown:
      return "shutdown";
    case exit_reason::kind::exit_code:
      return "exit code";
    case exit_reason::kind::signal:
      return "signal";
    case exit_reason::kind::exception:
      return "exception";
    case exit_reason::kind::protocol_error:
      return "protocol error";
    case exit_reason::kind::launch_failed:
      return "launch failed";
    case exit_reason::kind::hung:
      return "hung";
    case exit_reason::kind::oom:
      return "out of memory";
  }
  return "unknown";
}

std::string to_string(const exit_reason& reason) {
  std::string out = to_string(reason.what);
  switch (reason.what) {
    case exit_reason::kind::exit_code:
      out += ' ' + std::to_string(reason.code);
      break;
    case exit_reason::kind::signal: {
      out += ' ' + std::to_string(reason.signal);
      const char* abbrev = sigabbrev_np(reason.signal);
      out += " (SIG";
      out += abbrev ? abbrev : "?";
      if (reason.core_dumped) out += ", core dumped";
      out += ')';
      break;
    }
    default:
      break;
  }
  if (!reason.detail.empty()) out += ": " + reason.detail;
  return out;
}

}  // namespace actorproc
