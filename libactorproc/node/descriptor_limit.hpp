#pragma once
// The node's descriptor budget. Internal.
//
// Each actor holds two descriptors in the node for its whole life (its
// mailbox socket and its pidfd), and a spawn needs one more for a moment (the
// child's end of the socketpair). So the number of actors a node can run is
// about half its soft RLIMIT_NOFILE, which is often 1024 while the hard limit
// is far higher: the node raises the soft limit to the hard one when it
// starts, and a spawn that finds no descriptor left fails with an error that
// says which limit was reached and how many actors were alive.

#include <actorproc/base/error.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace actorproc::detail {

/// Raises the soft RLIMIT_NOFILE to the hard limit; what it did, for the log
/// (nullopt if the soft limit already was the hard one).
std::optional<std::string> raise_descriptor_limit();

/// The error of a spawn or connect (`what`) whose socketpair() just failed,
/// with `actors` alive: without a descriptor left (EMFILE, ENFILE), it names
/// the limit reached and the actors alive.
error socketpair_failed(const std::string& what, std::size_t actors);

}  // namespace actorproc::detail
