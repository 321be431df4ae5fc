#pragma once
// The entry point of worker processes.
//
// Every program that uses libactorproc starts main() with
//
//   if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
//
// When the program was started by the node's exec start method, this runs the
// requested actor and returns its exit status; otherwise it returns nullopt and
// main() goes on as the node. (Workers started by the zygote never get here:
// they are forked from the zygote and run the actor directly.)

#include <actorproc/actor/entry_table.hpp>
#include <actorproc/process/launch.hpp>
#include <actorproc/wire/limits.hpp>

#include <optional>
#include <string_view>

namespace actorproc {

std::optional<int> run_if_worker(const entry_table& actors, int argc, char** argv);

/// Exit statuses of a worker that announces its own failure (the node reports
/// the announced reason, not the bare status).
namespace worker_status {
inline constexpr int exception = 70;       // EX_SOFTWARE
inline constexpr int launch_failed = 71;   // EX_OSERR
inline constexpr int protocol_error = 76;  // EX_PROTOCOL
inline constexpr int out_of_memory = 75;   // EX_TEMPFAIL: an allocation failed (exit_reason::kind::oom)
}  // namespace worker_status

namespace detail {
/// In a process that the exec start method started as a worker (its node set
/// process::worker_env) but that did not go through run_if_worker(), because
/// main() `what_was_done` first: reports launch_failed, with the reason, to the
/// node that started it, and exits. Returns at once in any other process.
void refuse_if_started_as_worker(std::string_view what_was_done);

/// Runs one actor on `mailbox` until it stops; returns its exit status.
int run_worker(const entry_table& actors, const process::launch_request& request, unique_fd mailbox,
               std::vector<unique_fd> extra_fds, const wire::limits& limits = {});
}  // namespace detail

}  // namespace actorproc
