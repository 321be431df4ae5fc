// counter: the smallest libactorproc program. One actor process keeps a total;
// the node adds to it and asks for it, then the actor crashes on purpose and the
// node reports why, while the program carries on.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build counter && ./build/examples/counter
// Prints:
//   counter#1 runs as pid <pid>
//   total after 10 adds: 55
//   request to a dead actor failed: actor_down: ... (signal 9 (SIGKILL))
//   counter#1 exited: signal 9 (SIGKILL)

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <cstdio>

using namespace std::chrono_literals;

struct counter {
  using handles = actorproc::handles<demo::Add, demo::Get>;
  int64_t total = 0;

  void on(demo::Add::Reader m) { total += m.getBy(); }
  void on(demo::Get::Reader, actorproc::context& ctx) {
    ctx.reply<demo::Count>([&](demo::Count::Builder r) { r.setValue(total); });
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<counter>("counter");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  actorproc::node node{actors};
  auto c = node.spawn("counter").value();
  std::printf("%s runs as pid %d\n", c.name().c_str(), c.pid());

  for (int i = 1; i <= 10; ++i) c.send<demo::Add>([&](demo::Add::Builder b) { b.setBy(i); });
  auto total = c.request<demo::Get, demo::Count>({}, 1s);
  if (!total) {
    std::printf("request failed: %s\n", to_string(total.error()).c_str());
    return 1;
  }
  std::printf("total after 10 adds: %lld\n", static_cast<long long>(total->getValue()));

  c.kill();  // a crash is an ordinary outcome: the node survives it
  auto after = c.request<demo::Get, demo::Count>({}, 1s);
  std::printf("request to a dead actor failed: %s\n", after ? "no!" : to_string(after.error()).c_str());
  std::printf("%s exited: %s\n", c.name().c_str(), to_string(c.join(1s).value()).c_str());
  return 0;
}
