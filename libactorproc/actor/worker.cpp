// How a process becomes a worker: run_if_worker() for a program the exec start
// method started (its command line names the actor), run_worker() for a
// process the zygote forked, and the refusal that a program which forgot
// run_if_worker() sends to the node that exec'd it. What the worker then does
// is the runtime's (worker_runtime.cpp).

#include <actorproc/actor/worker.hpp>

#include "worker_runtime.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace actorproc {
namespace detail {

int run_worker(const entry_table& actors, const process::launch_request& request, unique_fd mailbox,
               std::vector<unique_fd> extra_fds, const wire::limits& limits) {
  std::string title = "ap:" + request.name;
  ::prctl(PR_SET_NAME, title.c_str());
  int status = run_actor(actors, request, std::move(mailbox), std::move(extra_fds), limits);
  std::fflush(stdout);
  std::fflush(stderr);
  return status;
}

}  // namespace detail

namespace {

// What the node put on the command line of a worker started by exec.
struct exec_worker_args {
  process::launch_request request;
  pid_t node_pid = -1;
  std::size_t extra_fds = 0;
};

std::optional<exec_worker_args> parse_worker_args(const std::vector<std::string_view>& argv) {
  if (argv.size() < 2 || argv[1] != process::worker_switch) return std::nullopt;
  exec_worker_args out;
  out.request.method = start_method::exec;
  std::size_t i = 2;
  if (i < argv.size()) out.request.actor_type = argv[i++];
  for (; i + 1 < argv.size(); i += 2) {
    std::string_view key = argv[i];
    std::string value(argv[i + 1]);
    if (key == "--") break;
    if (key == "--actorproc-id") out.request.id = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "--actorproc-name") out.request.name = value;
    if (key == "--actorproc-node") out.node_pid = static_cast<pid_t>(std::atoi(value.c_str()));
    if (key == "--actorproc-fds") out.extra_fds = std::strtoull(value.c_str(), nullptr, 10);
  }
  if (i < argv.size() && argv[i] == "--") ++i;
  for (; i < argv.size(); ++i) out.request.args.emplace_back(argv[i]);
  return out;
}

// This process's own command line, as exec gave it.
std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> words;
  for (std::string word; std::getline(in, word, '\0');) words.push_back(word);
  return words;
}

}  // namespace

void detail::refuse_if_started_as_worker(std::string_view what_was_done) {
  const char* marker = std::getenv(process::worker_env);
  if (marker == nullptr) return;
  // Set by a node for the worker it exec'd, and only that node is this
  // process's parent; otherwise the variable was passed on by someone else.
  if (std::atoi(marker) != ::getppid()) return;
  std::vector<std::string> words = own_command_line();
  auto args = parse_worker_args(std::vector<std::string_view>(words.begin(), words.end()));
  if (!args) return;
  std::string why = "this program was started as an actor worker (exec start method), but its main() " +
                    std::string(what_was_done) +
                    " without calling actorproc::run_if_worker() first: start main() with "
                    "`if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;`";
  int status = detail::refuse_launch(args->request, unique_fd(process::exec_mailbox_fd), why);
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(status);  // never go on as a node: that node would exec the program again, and so on
}

std::optional<int> run_if_worker(const entry_table& actors, int argc, char** argv) {
  auto args = parse_worker_args(std::vector<std::string_view>(argv, argv + argc));
  if (!args) return std::nullopt;
  // This process is a worker now: what it starts (a port's command) is not.
  ::unsetenv(process::worker_env);
  // PR_SET_PDEATHSIG survives exec; re-check that the node did not die before it was set.
  if (args->node_pid > 0 && ::getppid() != args->node_pid) return 1;

  std::vector<unique_fd> extra_fds;
  for (std::size_t k = 0; k < args->extra_fds; ++k) {
    extra_fds.emplace_back(process::exec_mailbox_fd + 1 + static_cast<int>(k));
  }
  return detail::run_worker(actors, args->request, unique_fd(process::exec_mailbox_fd), std::move(extra_fds));
}

}  // namespace actorproc
