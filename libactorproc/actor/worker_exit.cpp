#include "worker_exit.hpp"

#include <actorproc/actor/worker.hpp>

#include <kj/exception.h>

#include <sys/resource.h>

#include <new>
#include <string>

namespace actorproc::detail {
namespace {

// The address-space and data limits in force, as text for the reason's detail
// (empty without one): a limit is the usual way an actor's memory is bounded.
std::string memory_limits() {
  std::string out;
  for (auto [resource, name] : {std::pair{RLIMIT_AS, "RLIMIT_AS"}, std::pair{RLIMIT_DATA, "RLIMIT_DATA"}}) {
    rlimit limit{};
    if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) continue;
    out += out.empty() ? " (" : ", ";
    out += std::string(name) + " " + std::to_string(limit.rlim_cur) + " bytes";
  }
  return out.empty() ? out : out + ")";
}

}  // namespace

exit_reason crash_reason(std::exception_ptr escaped) {
  try {
    std::rethrow_exception(escaped);
  } catch (const std::bad_array_new_length& e) {
    return exit_reason::because(exit_reason::kind::exception, e.what());
  } catch (const std::bad_alloc& e) {
    return exit_reason::because(exit_reason::kind::oom,
                                std::string("an allocation failed (") + e.what() + ")" + memory_limits());
  } catch (const std::exception& e) {
    return exit_reason::because(exit_reason::kind::exception, e.what());
  } catch (const kj::Exception& e) {
    return exit_reason::because(exit_reason::kind::exception, e.getDescription().cStr());
  } catch (...) {
    return exit_reason::because(exit_reason::kind::exception, "an exception of unknown type");
  }
}

int exit_status_for(const exit_reason& reason) {
  switch (reason.what) {
    case exit_reason::kind::normal:
    case exit_reason::kind::shutdown:
      return 0;
    case exit_reason::kind::exit_code:
      return reason.code != 0 ? reason.code : 1;
    case exit_reason::kind::signal:
      return 128 + reason.signal;  // the shell's convention
    case exit_reason::kind::oom:
      return worker_status::out_of_memory;
    case exit_reason::kind::protocol_error:
      return worker_status::protocol_error;
    case exit_reason::kind::launch_failed:
      return worker_status::launch_failed;
    default:
      return worker_status::exception;
  }
}

}  // namespace actorproc::detail
