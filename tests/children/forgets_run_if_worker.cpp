// A program that forgets run_if_worker() (tests:
// a_program_that_forgets_run_if_worker_fails_the_exec_spawn_and_never_recurses).
// Its exec-started worker runs main() again and reaches the node's constructor:
// that must fail this program's spawn with launch_failed, not start another node.
// It prints the spawn's outcome on one line.
#include "test_actors.hpp"

#include <cstdio>

int main() {
  actorproc::node_options options;
  options.start_timeout = std::chrono::seconds(5);  // bounds the test before the fix, when the worker hung
  actorproc::node node{test_actors::table(), std::move(options)};
  auto a = node.spawn("echo", {.method = actorproc::start_method::exec});
  std::printf("%s\n", a ? "spawned" : to_string(a.error()).c_str());
  return a ? 0 : 3;
}
