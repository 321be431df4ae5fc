// producer_consumer: the seeds' JoinableQueue program (seeds/003, "生产者与消费者
// 模型"), ported. A producer puts 0..9 into a bounded JoinableQueue(3) and waits
// in join() until the customer has acknowledged every item with task_done().
// Where the seed's customer is a daemon killed with its parent, here the node
// closes the queue and the customer ends on its own.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build producer_consumer && ./build/examples/producer_consumer
// Prints (the two processes interleave; the queue holds at most 3):
//   produce 0 ... produce 9
//   custom 0 ... custom 9
//   producer joined: all 10 items were consumed
//   customer done after 10 items

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <cstdio>
#include <cstdlib>

using namespace std::chrono_literals;

actorproc::queue_client<actorproc::from_actor> queue_of(actorproc::context& ctx) {
  return actorproc::queue_in(ctx, {std::strtoull(ctx.args().at(0).c_str(), nullptr, 10)});
}

struct producer {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    auto q = queue_of(ctx);
    for (int64_t i = 0; i < 10; ++i) {
      q.put<demo::Count>([&](demo::Count::Builder b) { b.setValue(i); }, 10s).value();  // waits while 3 are queued
      std::printf("produce %lld\n", static_cast<long long>(i));
      std::fflush(stdout);
    }
    q.join(30s).value();  // every item acknowledged
    ctx.reply<demo::Count>([](demo::Count::Builder b) { b.setValue(10); });
  }
};

struct customer {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    auto q = queue_of(ctx);
    int64_t consumed = 0;
    for (;;) {
      auto item = q.get<demo::Count>(30s);
      if (!item) break;  // queue_closed once drained
      std::printf("custom %lld\n", static_cast<long long>(item->value().getValue()));
      std::fflush(stdout);
      ++consumed;
      q.task_done().value();
    }
    std::printf("customer done after %lld items\n", static_cast<long long>(consumed));
    std::fflush(stdout);
    ctx.stop();
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<producer>("producer").add<customer>("customer");
  actorproc::add_queue(actors);
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  actorproc::node node{actors};
  auto q = actorproc::start_queue(node, {.maxsize = 3, .joinable = true}).value();  // JoinableQueue(3)
  std::string qid = std::to_string(q.id());
  auto p = node.spawn("producer", {.args = {qid}}).value();
  auto c = node.spawn("customer", {.args = {qid}}).value();
  c.send<demo::Start>().value();
  auto produced = p.request<demo::Start, demo::Count>({}, 60s);  // p.start(); p.join()
  std::printf("producer joined: %s\n", produced ? "all 10 items were consumed" : to_string(produced.error()).c_str());
  std::fflush(stdout);
  actorproc::queue_client<actorproc::actor_handle>(q).close().value();
  return produced && c.join(30s) ? 0 : 1;
}
