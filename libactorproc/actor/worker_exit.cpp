#include "worker_exit.hpp"

#include <actorproc/actor/worker.hpp>

#include <kj/exception.h>

#include <string>

namespace actorproc::detail {

exit_reason crash_reason(std::exception_ptr escaped) {
  try {
    std::rethrow_exception(escaped);
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
    case exit_reason::kind::protocol_error:
      return worker_status::protocol_error;
    case exit_reason::kind::launch_failed:
      return worker_status::launch_failed;
    default:
      return worker_status::exception;
  }
}

}  // namespace actorproc::detail
