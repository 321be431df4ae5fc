// tickets: the seeds' ticket-selling program (seeds/003, "模拟抢票"), ported:
// 150 buyer processes race for 100 tickets kept in a file, and a lock makes
// sure that exactly 100 are sold. (The seed gives every process a Lock of its
// own, so nothing is actually shared; here one lock actor serves them all.)
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build tickets && ./build/examples/tickets
// Prints:
//   <pid> get stock successful    (100 times, from 100 different processes)
//   sold 100 tickets to 150 buyers; 0 left in the stock file

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

int read_stock(const std::string& file) {
  int count = -1;
  std::ifstream(file) >> count;
  return count;
}

// run(): take the lock, read the stock, take one ticket if any is left, release.
// Replies with 1 if it bought a ticket.
struct buyer {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    const std::string& file = ctx.args().at(0);
    auto lock = actorproc::lock_in(ctx, {std::strtoull(ctx.args().at(1).c_str(), nullptr, 10)});
    lock.acquire(60s).value();
    int stock = read_stock(file);
    bool bought = stock > 0;
    if (bought) {
      std::ofstream(file, std::ios::trunc) << stock - 1;
      std::printf("%d get stock successful\n", ::getpid());
      std::fflush(stdout);
    }
    lock.release().value();
    ctx.reply<demo::Count>([&](demo::Count::Builder c) { c.setValue(bought ? 1 : 0); });
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<buyer>("buyer");
  actorproc::add_lock(actors);
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  std::string file = "/tmp/actorproc-stock-" + std::to_string(::getpid());
  std::ofstream(file) << 100;  // json.dump({'count': 100})
  actorproc::node node{actors};
  auto lock = actorproc::start_lock(node).value();
  std::vector<actorproc::actor_handle> buyers;
  for (int i = 0; i < 150; ++i) {
    buyers.push_back(node.spawn("buyer", {.args = {file, std::to_string(lock.id())}}).value());
  }
  // All 150 race at once: each request starts a purchase; then the answers are collected.
  std::vector<std::thread> racing;
  std::vector<int> sold(buyers.size(), 0);
  for (std::size_t i = 0; i < buyers.size(); ++i) {
    racing.emplace_back([&, i] {
      auto r = buyers[i].request<demo::Start, demo::Count>({}, 120s);
      sold[i] = r ? static_cast<int>(r->getValue()) : 0;
    });
  }
  for (auto& t : racing) t.join();
  int total = 0;
  for (int s : sold) total += s;
  int left = read_stock(file);
  std::remove(file.c_str());
  std::printf("sold %d tickets to %zu buyers; %d left in the stock file\n", total, buyers.size(), left);
  return total == 100 && left == 0 ? 0 : 1;
}
