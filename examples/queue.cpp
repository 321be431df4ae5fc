// queue: the seeds' Queue program (seeds/000, section 1.4.1), ported. Two writer
// actors put URLs into a queue, one reader actor gets them. Where the seed must
// terminate() its reader (it loops forever), here the node closes the queue
// once the writers are done: the reader drains it, sees queue_closed, and ends.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build queue && ./build/examples/queue
// Prints (the processes interleave):
//   Process(<pid>) is writing... / Put url_1 to queue... (x6 in all)
//   Process(<pid>) is reading... / Get url_1 from queue. (x6 in all)
//   reader done: got 6 urls, then the queue was closed

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

using namespace std::chrono_literals;

// The queue's id comes as args[0]; the writer's URLs follow.
struct writer {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    auto q = actorproc::queue_in(ctx, {std::strtoull(ctx.args().at(0).c_str(), nullptr, 10)});
    std::printf("Process(%d) is writing...\n", ::getpid());
    for (std::size_t i = 1; i < ctx.args().size(); ++i) {
      const std::string& url = ctx.args()[i];
      q.put<demo::Url>([&](demo::Url::Builder b) { b.setUrl(url); }, 10s).value();
      std::printf("Put %s to queue...\n", url.c_str());
    }
    std::fflush(stdout);
    ctx.stop();
  }
};

struct reader {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    auto q = actorproc::queue_in(ctx, {std::strtoull(ctx.args().at(0).c_str(), nullptr, 10)});
    std::printf("Process(%d) is reading...\n", ::getpid());
    int got = 0;
    for (;;) {
      auto url = q.get<demo::Url>(10s);  // q.get(True)
      if (!url) {
        std::printf("reader done: got %d urls, then %s\n", got,
                    url.error().code == actorproc::errc::queue_closed ? "the queue was closed"
                                                                      : to_string(url.error()).c_str());
        break;
      }
      ++got;
      std::printf("Get %s from queue.\n", url->value().getUrl().cStr());
    }
    std::fflush(stdout);
    ctx.stop();
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<writer>("writer").add<reader>("reader");
  actorproc::add_queue(actors);
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  actorproc::node node{actors};
  auto q = actorproc::start_queue(node, {.maxsize = 100}).value();  // q = Queue()
  std::string qid = std::to_string(q.id());
  auto writer1 = node.spawn("writer", {.args = {qid, "url_1", "url_2", "url_3"}}).value();
  auto writer2 = node.spawn("writer", {.args = {qid, "url_4", "url_5", "url_6"}}).value();
  auto reader_proc = node.spawn("reader", {.args = {qid}}).value();
  for (auto* p : {&writer1, &writer2, &reader_proc}) p->send<demo::Start>().value();  // start()

  writer1.join(30s).value();  // proc_writer1.join()
  writer2.join(30s).value();
  actorproc::queue_client<actorproc::actor_handle>(q).close().value();  // instead of terminate()
  return reader_proc.join(30s) ? 0 : 1;
}
