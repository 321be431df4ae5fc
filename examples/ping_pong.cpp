// ping_pong: two actor processes play ping-pong over a direct channel, then one
// of them is killed mid-game and the other reports the failure as a value.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build ping_pong && ./build/examples/ping_pong [rounds]
// Prints:
//   ping (pid <p>) and pong (pid <q>) connected
//   ping played 1000 rounds with pong: <n> us per round trip
//   pong killed; ping's next game: error: ... actor_down ...
//   pong exited: signal 9 (SIGKILL)

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Answers every Ping with a Pong carrying the same sequence number.
struct pong {
  using handles = actorproc::handles<demo::Ping>;
  void on(demo::Ping::Reader m, actorproc::context& ctx) {
    ctx.reply<demo::Pong>([&](demo::Pong::Builder b) { b.setSeq(m.getSeq()); });
  }
};

// On Start, plays `rounds` synchronous round trips with `peer` and reports the time.
struct ping {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    auto start = steady::now();
    for (uint64_t seq = 1; seq <= m.getRounds(); ++seq) {
      auto answer = ctx.request<demo::Ping, demo::Pong>(
          {m.getPeer()}, [&](demo::Ping::Builder b) { b.setSeq(seq); }, 10s);
      if (!answer) throw std::runtime_error("round " + std::to_string(seq) + ": " + to_string(answer.error()));
      if (answer->getSeq() != seq) throw std::runtime_error("pong answered out of order");
    }
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - start).count();
    ctx.reply<demo::Done>([&](demo::Done::Builder b) {
      b.setRounds(m.getRounds());
      b.setNanos(static_cast<uint64_t>(nanos));
    });
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<ping>("ping").add<pong>("pong");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
  uint64_t rounds = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000;

  actorproc::node node{actors};
  auto pinger = node.spawn("ping", {.name = "ping"}).value();
  auto ponger = node.spawn("pong", {.name = "pong"}).value();
  node.connect(pinger, ponger).value();  // their messages now bypass the node
  std::printf("ping (pid %d) and pong (pid %d) connected\n", pinger.pid(), ponger.pid());

  auto play = [&] {
    return pinger.request<demo::Start, demo::Done>(
        [&](demo::Start::Builder b) {
          b.setPeer(ponger.id());
          b.setRounds(rounds);
        },
        60s);
  };
  auto game = play();
  if (!game) {
    std::printf("game failed: %s\n", to_string(game.error()).c_str());
    return 1;
  }
  std::printf("ping played %llu rounds with pong: %.1f us per round trip\n",
              static_cast<unsigned long long>(game->getRounds()), game->getNanos() / 1e3 / game->getRounds());

  ponger.kill();
  auto pong_exit = ponger.join(10s);
  auto second = play();  // ping's request to a dead pong fails; ping crashes ("let it crash")
  std::printf("pong killed; ping's next game: %s\n",
              second ? "no error?!" : ("error: " + to_string(second.error())).c_str());
  std::printf("pong exited: %s\n", pong_exit ? to_string(*pong_exit).c_str() : "still running?!");
  return second ? 1 : 0;
}
