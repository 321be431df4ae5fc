// A second program with its own actor types, started by the exec start method
// with spawn_options::program (tests: an_exec_started_actor_can_be_another_binary).
#include <actorproc/actorproc.hpp>
#include <tests/testing.capnp.h>

struct greeter {
  using handles = actorproc::handles<testing::Echo>;
  void on(testing::Echo::Reader m, actorproc::context& ctx) {
    std::string text = "greeter says: " + std::string(m.getText());
    ctx.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<greeter>("greeter");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
  return 2;  // only ever started as a worker
}
