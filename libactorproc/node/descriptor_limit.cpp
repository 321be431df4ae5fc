#include "descriptor_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace actorproc::detail {
namespace {

std::string text(rlim_t value) { return value == RLIM_INFINITY ? "unlimited" : std::to_string(value); }

}  // namespace

std::optional<std::string> raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return std::nullopt;
  rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return "could not raise the soft descriptor limit (RLIMIT_NOFILE) from " + text(before) + " to its hard limit " +
           text(limit.rlim_max) + ": " + std::strerror(errno) + "; each actor holds 2 descriptors in the node";
  }
  return "raised the soft descriptor limit (RLIMIT_NOFILE) from " + text(before) + " to its hard limit " +
         text(limit.rlim_max) + "; each actor holds 2 descriptors in the node";
}

error socketpair_failed(const std::string& what, std::size_t actors) {
  int code = errno;
  if (code != EMFILE && code != ENFILE) return error(errc::system_error, what + ": socketpair: " + std::strerror(code));
  rlimit limit{};
  std::string which = "the system's descriptor table is full";
  if (code == EMFILE && ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    which = "the node has reached its descriptor limit (RLIMIT_NOFILE = " + text(limit.rlim_cur) + ")";
  }
  return error(errc::system_error, what + ": " + which + " with " + std::to_string(actors) +
                                       " actors alive, each holding 2 descriptors in the node (" +
                                       std::strerror(code) + ")");
}

}  // namespace actorproc::detail
