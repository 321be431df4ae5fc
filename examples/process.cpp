// process: the seeds' first programs (seeds/000, sections 1.2): start five
// child processes with an argument each, let them report their pid and their
// parent's, and join them; then show what Python's join() cannot: a child that
// crashes is reported with its reason while the others are unaffected.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build process && ./build/examples/process
// Prints (pids vary; the children's lines interleave):
//   Parent process <pid>.
//   Process will start. (x5)
//   Child process <i> (<pid>) Running, my parent process is <parent pid>...   (x5)
//   child 0 ... child 4 joined: normal
//   child 5 joined: signal 11 (SIGSEGV...)
//   Process end.

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>

using namespace std::chrono_literals;

// The target of Process(target=run_proc, args=(name,)): it runs once, on Start,
// with the argument given at spawn, then exits.
struct run_proc {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    const std::string& name = ctx.args().at(0);
    if (name == "crash") {
      // A real segfault (a write to a page without access): only this process dies.
      void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      *static_cast<volatile int*>(page) = 1;
    }
    std::printf("Child process %s (%d) Running, my parent process is %d...\n", name.c_str(), ::getpid(), ::getppid());
    std::fflush(stdout);
    ctx.stop();
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<run_proc>("run_proc");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  std::printf("Parent process %d.\n", ::getpid());
  std::fflush(stdout);
  actorproc::node node{actors};
  std::vector<actorproc::actor_handle> children;
  for (int i = 0; i < 6; ++i) {
    std::string name = i < 5 ? std::to_string(i) : "crash";
    std::printf("Process will start.\n");
    std::fflush(stdout);
    children.push_back(node.spawn("run_proc", {.name = "child " + std::to_string(i), .args = {name}}).value());
    children.back().send<demo::Start>().value();  // start()
  }
  for (auto& child : children) {  // join()
    auto reason = child.join(30s);
    std::printf("%s joined: %s\n", child.name().c_str(), reason ? to_string(*reason).c_str() : "still running?!");
  }
  std::printf("Process end.\n");
  return 0;
}
