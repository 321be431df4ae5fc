#include <actorproc/base/error.hpp>

namespace actorproc {

const char* to_string(errc code) {
  switch (code) {
    case errc::timeout:
      return "timeout";
    case errc::mailbox_full:
      return "mailbox_full";
    case errc::actor_down:
      return "actor_down";
    case errc::unknown_actor:
      return "unknown_actor";
    case errc::type_mismatch:
      return "type_mismatch";
    case errc::unhandled_message:
      return "unhandled_message";
    case errc::handler_exception:
      return "handler_exception";
    case errc::no_reply:
      return "no_reply";
    case errc::protocol_error:
      return "protocol_error";
    case errc::launch_failed:
      return "launch_failed";
    case errc::node_stopped:
      return "node_stopped";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::system_error:
      return "system_error";
    case errc::actor_restarting:
      return "actor_restarting";
    case errc::end_of_stream:
      return "end_of_stream";
    case errc::queue_full:
      return "queue_full";
    case errc::queue_empty:
      return "queue_empty";
    case errc::queue_closed:
      return "queue_closed";
    case errc::cancelled:
      return "cancelled";
    case errc::pool_closed:
      return "pool_closed";
    case errc::broken:
      return "broken";
    case errc::too_large:
      return "too_large";
  }
  return "unknown_error";
}

// No default: the compiler (-Wswitch) names an errc added without a class.
error_class classify(errc code) {
  switch (code) {
    case errc::timeout:
    case errc::mailbox_full:
    case errc::actor_restarting:
    case errc::queue_full:
    case errc::queue_empty:
      return error_class::retry_later;
    case errc::actor_down:
    case errc::unknown_actor:
    case errc::protocol_error:  // the node closed that link and treats the peer as failed
    case errc::node_stopped:
    case errc::end_of_stream:
    case errc::queue_closed:
      return error_class::peer_gone;
    case errc::type_mismatch:
    case errc::unhandled_message:
    case errc::no_reply:
    case errc::invalid_argument:
    case errc::pool_closed:
      return error_class::usage_bug;
    case errc::too_large:
      return error_class::limit;
    case errc::handler_exception:
    case errc::launch_failed:
    case errc::system_error:
    case errc::cancelled:
    case errc::broken:
      return error_class::failed;
  }
  return error_class::failed;  // a value outside the enum (decoded off the wire): nothing better to say
}

const char* to_string(error_class c) {
  switch (c) {
    case error_class::retry_later:
      return "retry_later";
    case error_class::peer_gone:
      return "peer_gone";
    case error_class::usage_bug:
      return "usage_bug";
    case error_class::limit:
      return "limit";
    case error_class::failed:
      return "failed";
  }
  return "unknown_class";
}

std::string to_string(const error& err) {
  std::string out = to_string(err.code);
  if (!err.message.empty()) out += ": " + err.message;
  if (err.reason) out += " (" + to_string(*err.reason) + ")";
  return out;
}

}  // namespace actorproc
