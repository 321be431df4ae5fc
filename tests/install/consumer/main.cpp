#include <actorproc/actorproc.hpp>

#include "greeting.capnp.h"

#include <cstdio>
#include <string>

struct greeter {
  using handles = actorproc::handles<Greet>;
  void on(Greet::Reader m, actorproc::context& ctx) {
    std::string text = "hello from " + std::string(m.getWhom());
    ctx.reply<Greeting>([&](Greeting::Builder b) { b.setText(text); });
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<greeter>("greeter");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
  actorproc::node node{actors};
  auto g = node.spawn("greeter").value();
  auto reply = g.request<Greet, Greeting>([](Greet::Builder b) { b.setWhom("an installed libactorproc"); });
  if (!reply) return 1;
  std::printf("consumer got: %s\n", reply->getText().cStr());
  return 0;
}
