// How a port's options travel to it: a port is an actor type like any other,
// started with spawn arguments (port_args), so that a supervisor can restart it
// from a child_spec; the port parses them back (parse_port_args) in its worker.

#include "port_options.hpp"

#include <algorithm>
#include <stdexcept>

namespace actorproc {
namespace detail {
namespace {

namespace pd = process::detail;

// A frame travels in one message, which must stay well inside wire::limits.
constexpr std::size_t max_frame_limit = 16 << 20;

const char* to_string(port_framing f) { return f == port_framing::lines ? "lines" : "length_prefixed"; }

// How each stderr mode is spelled in the spawn arguments, and where it sends stderr.
struct stderr_mode {
  port_stderr mode;
  const char* name;
  pd::stderr_to target;
};
constexpr stderr_mode stderr_modes[] = {
    {port_stderr::inherit, "inherit", pd::stderr_to::inherit},
    {port_stderr::discard, "discard", pd::stderr_to::discard},
    {port_stderr::to_stdout, "to_stdout", pd::stderr_to::stdout_pipe},
};
const stderr_mode& mode_of(port_stderr e) {
  for (const auto& m : stderr_modes) {
    if (m.mode == e) return m;
  }
  return stderr_modes[0];
}

}  // namespace

expected<void> validate_port_options(const port_options& o) {
  if (o.argv.empty()) return error(errc::invalid_argument, "a port needs a command (argv is empty)");
  if (o.max_frame == 0 || o.max_frame > max_frame_limit) {
    return error(errc::invalid_argument, "max_frame must be between 1 and " + std::to_string(max_frame_limit));
  }
  if (o.max_buffered == 0) return error(errc::invalid_argument, "max_buffered must be at least 1");
  if (o.max_pending_input < o.max_frame + port_prefix_bytes) {
    return error(errc::invalid_argument, "max_pending_input must hold at least one frame of max_frame bytes");
  }
  return {};
}

port_options parse_port_args(const std::vector<std::string>& args) {
  port_options o;
  std::size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    const std::string& arg = args[i];
    auto eq = arg.find('=');
    std::string key = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
    if (key == "framing" && (value == "lines" || value == "length_prefixed")) {
      o.framing = value == "lines" ? port_framing::lines : port_framing::length_prefixed;
    } else if (key == "stderr") {
      auto m = std::find_if(std::begin(stderr_modes), std::end(stderr_modes), [&](auto& m) { return value == m.name; });
      if (m == std::end(stderr_modes)) throw std::invalid_argument("unknown stderr mode '" + value + "'");
      o.err = m->mode;
    } else if (key == "max_frame") {
      o.max_frame = std::stoull(value);
    } else if (key == "max_buffered") {
      o.max_buffered = std::stoull(value);
    } else if (key == "max_pending_input") {
      o.max_pending_input = std::stoull(value);
    } else if (key == "subscriber") {
      o.subscriber = {std::stoull(value)};
    } else if (key == "linger_ms") {
      o.linger = std::chrono::milliseconds(std::stoll(value));
    } else if (key == "stop_grace_ms") {
      o.stop_grace = std::chrono::milliseconds(std::stoll(value));
    } else if (key == "cwd") {
      o.cwd = value;
    } else if (key == "env_replace") {
      if (!o.env) o.env.emplace();
    } else if (key == "env") {
      if (!o.env) o.env.emplace();
      o.env->push_back(value);
    } else {
      throw std::invalid_argument("unknown port argument '" + arg + "'");
    }
  }
  if (i < args.size()) o.argv.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (auto ok = validate_port_options(o); !ok) throw std::invalid_argument(ok.error().message);
  return o;
}

pd::stderr_to stderr_target(port_stderr e) { return mode_of(e).target; }

}  // namespace detail

std::vector<std::string> port_args(const port_options& o) {
  std::vector<std::string> args{
      std::string("framing=") + detail::to_string(o.framing),
      std::string("stderr=") + detail::mode_of(o.err).name,
      "max_frame=" + std::to_string(o.max_frame),
      "max_buffered=" + std::to_string(o.max_buffered),
      "max_pending_input=" + std::to_string(o.max_pending_input),
      "subscriber=" + std::to_string(o.subscriber.id),
      "linger_ms=" + std::to_string(o.linger.count()),
      "stop_grace_ms=" + std::to_string(o.stop_grace.count()),
  };
  if (!o.cwd.empty()) args.push_back("cwd=" + o.cwd);
  if (o.env) {
    args.emplace_back("env_replace");  // even when empty: an empty environment
    for (const auto& e : *o.env) args.push_back("env=" + e);
  }
  args.emplace_back("--");
  args.insert(args.end(), o.argv.begin(), o.argv.end());
  return args;
}

expected<actor_handle> start_port(node& n, const port_options& options) {
  if (auto ok = detail::validate_port_options(options); !ok) return ok.error();
  std::string name = options.name;
  if (name.empty()) name = "port:" + options.argv[0].substr(options.argv[0].rfind('/') + 1);
  return n.spawn(port_type, {.name = std::move(name), .args = port_args(options)});
}

}  // namespace actorproc
