#pragma once
// The defaults of send and request, shared by both sides: a worker's context
// (actor/context.hpp) and the node's actor_handle (node/actor_handle.hpp), and
// the pattern clients built on either. They live here, below both, so that the
// node's side does not depend on the worker's header for them.

#include <chrono>

namespace actorproc {

/// The default deadline of request() and of a send into a full buffer.
inline constexpr std::chrono::milliseconds default_timeout{5000};

/// The default fill function, for messages without fields: send<Ping>(to).
struct no_fields {
  template <class Builder>
  void operator()(Builder) const {}
};

}  // namespace actorproc
