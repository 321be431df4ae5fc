#pragma once
// A port's options as spawn arguments, and back. Internal to the port.

#include <actorproc/patterns/port.hpp>

#include <actorproc/process/command.hpp>

#include <string>
#include <vector>

namespace actorproc::detail {

/// The length prefix of length_prefixed framing: 4 bytes, big-endian.
inline constexpr std::size_t port_prefix_bytes = 4;

/// invalid_argument if `options` cannot make a port (no command, bounds out of range).
expected<void> validate_port_options(const port_options& options);
/// The inverse of port_args(); throws std::invalid_argument on arguments it
/// does not know, and on options that validate_port_options() refuses.
port_options parse_port_args(const std::vector<std::string>& args);
/// Where the command's stderr goes for `mode`.
process::detail::stderr_to stderr_target(port_stderr mode);

}  // namespace actorproc::detail
