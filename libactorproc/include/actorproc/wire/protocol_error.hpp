#pragma once

#include <stdexcept>
#include <string>

namespace actorproc::wire {

/// A peer sent bytes that are not a valid frame: a bad segment table, an
/// oversized frame, an out-of-bounds pointer, an unknown envelope kind. The
/// message says which. Never fatal to the node: the link is closed instead.
class protocol_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace actorproc::wire
