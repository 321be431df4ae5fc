// A node that the orphan test SIGKILLs: it prints the pids of its zygote and of
// three actors (two forked by the zygote, one exec'd), then "ready 0", and waits.
#include "test_actors.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  if (auto rc = actorproc::run_if_worker(test_actors::table(), argc, argv)) return *rc;
  actorproc::node node{test_actors::table()};
  std::printf("zygote %d\n", node.zygote_pid());
  for (auto method :
       {actorproc::start_method::zygote, actorproc::start_method::zygote, actorproc::start_method::exec}) {
    auto a = node.spawn("echo", {.method = method});
    if (!a) return 1;
    std::printf("actor %d\n", a->pid());
  }
  std::printf("ready 0\n");
  std::fflush(stdout);
  for (;;) ::pause();
}
