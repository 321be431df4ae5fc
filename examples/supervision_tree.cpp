// supervision_tree: a tree of supervisors keeps a three-stage pipeline flowing
// while one stage crashes on purpose, and no item is lost or counted twice.
//
//   root (one_for_one)
//   ├── pipeline (rest_for_one)  children in dependency order: each uses those before it
//   │   ├── sink       counts and sums the items that reach it
//   │   ├── transform  squares each item for the sink; abort()s on every 7th item it handles
//   │   └── source     reads item n of the input (here simply n) for the transform
//   └── auditor        an independent worker: the pipeline's failures never touch it
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build supervision_tree && ./build/examples/supervision_tree [items]
// Prints (pids, sizes and the time vary):
//   <the tree: actor, state, pid, restarts, messages in/out, mailbox, rss>
//   fed 50 items; 8 of them went again after a crash on their way
//   restarts: root/pipeline 0, root/pipeline/sink 0, root/pipeline/transform 8, root/pipeline/source 8, root/auditor 0
//   sink received 50 of 50 items, sum of squares 42925 (expected 42925)
//   auditor counted 50 items, was killed, and root restarted it alone:
//     <time> root/auditor incarnation 1 exited (signal 9 (SIGKILL)): restarted
//   <the tree again>

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <sys/resource.h>

#include <array>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <thread>

using namespace actorproc;
using namespace std::chrono_literals;

// A stage answers its caller with the answer of the stage after it. If that one
// died, the answer is "not delivered": restarting it is the supervisor's job and
// sending the item again is the caller's; this stage itself is fine.
void relay(const expected<message<demo::Ack>>& ack, context& ctx) {
  ctx.reply<demo::Ack>([&](demo::Ack::Builder out) {
    if (!ack) return;  // delivered = false
    out.setDelivered(ack->getDelivered());
    out.setReceived(ack->getReceived());
    out.setSum(ack->getSum());
  });
}

struct source {
  using handles = actorproc::handles<demo::Item>;
  void on(demo::Item::Reader in, context& ctx) {
    auto ack = ctx.request<demo::Item, demo::Ack>({in.getTransform()}, [&](demo::Item::Builder out) {
      out.setSeq(in.getSeq());
      out.setValue(static_cast<int64_t>(in.getSeq()));  // "reads" item n
      out.setSink(in.getSink());
    });
    relay(ack, ctx);
  }
};

struct transform {
  using handles = actorproc::handles<demo::Item>;
  int handled = 0;  // per incarnation: a new one starts again at 0
  transform() {
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // a planned crash needs no core file
  }
  void on(demo::Item::Reader in, context& ctx) {
    if (++handled % 7 == 0) std::abort();  // the planted bug: a real crash, not an exception
    auto ack = ctx.request<demo::Item, demo::Ack>({in.getSink()}, [&](demo::Item::Builder out) {
      out.setSeq(in.getSeq());
      out.setValue(in.getValue() * in.getValue());
    });
    relay(ack, ctx);
  }
};

// An item whose journey failed goes again, and it may have reached the sink the
// first time: each sequence number counts once (items arrive in order), which
// makes at-least-once delivery count exactly once.
struct sink {
  using handles = actorproc::handles<demo::Item>;
  uint64_t last_seq = 0, received = 0;
  int64_t sum = 0;
  void on(demo::Item::Reader in, context& ctx) {
    if (in.getSeq() > last_seq) {
      last_seq = in.getSeq();
      ++received;
      sum += in.getValue();
    }
    ctx.reply<demo::Ack>([&](demo::Ack::Builder out) {
      out.setDelivered(true);
      out.setReceived(received);
      out.setSum(sum);
    });
  }
};

struct auditor {
  using handles = actorproc::handles<demo::Add, demo::Get>;
  int64_t total = 0;
  void on(demo::Add::Reader m) { total += m.getBy(); }
  void on(demo::Get::Reader, context& ctx) {
    ctx.reply<demo::Count>([&](demo::Count::Builder r) { r.setValue(total); });
  }
};

// The current source, transform and sink. Right after a crash some are
// restarting: ask the pipeline's supervisor again until all three are back.
std::optional<std::array<actor_handle, 3>> stages(const supervisor& pipeline) {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    auto src = pipeline.child("source").current();
    auto xform = pipeline.child("transform").current();
    auto snk = pipeline.child("sink").current();
    if (src && xform && snk) return std::array<actor_handle, 3>{*src, *xform, *snk};
    std::this_thread::sleep_for(1ms);
  }
  return std::nullopt;
}

int main(int argc, char** argv) {
  entry_table actors;
  actors.add<source>("source").add<transform>("transform").add<sink>("sink").add<auditor>("auditor");
  if (auto rc = run_if_worker(actors, argc, argv)) return *rc;
  long long items = argc > 1 ? std::atoll(argv[1]) : 50;

  node node{actors};
  // rest_for_one: when the transform dies, the source (started after it, holding
  // its id) restarts too; the sink, which needs neither, keeps its count. 8
  // crashes are planned; an 11th within 10 s would make the pipeline give up, and
  // root would restart all of it.
  auto pipeline =
      std::make_shared<supervisor_spec>(supervisor_spec{.name = "pipeline",
                                                        .strategy = restart_strategy::rest_for_one,
                                                        .intensity = 10,
                                                        .period = 10s,
                                                        .children = {{.id = "sink", .actor_type = "sink"},
                                                                     {.id = "transform", .actor_type = "transform"},
                                                                     {.id = "source", .actor_type = "source"}}});
  auto root =
      supervisor::start(
          node, {.name = "root",
                 .strategy = restart_strategy::one_for_one,
                 .intensity = 3,
                 .children = {{.id = "pipeline", .supervisor = pipeline}, {.id = "auditor", .actor_type = "auditor"}}})
          .value();
  std::printf("%s", to_string(root.snapshot()).c_str());
  auto pipe_sup = root.child_supervisor("pipeline").value();

  // An item counts as delivered when the sink's answer comes back. A failure on
  // the way means a stage crashed: the item goes again, to the new incarnations.
  auto audit = root.child("auditor");  // a named handle: reaches whichever incarnation is current
  long long resent = 0, received = 0, sum = 0;
  for (long long seq = 1; seq <= items; ++seq) {
    for (;;) {
      auto current = stages(pipe_sup);
      if (!current) {
        std::puts("giving up: the pipeline does not come back");
        return 1;
      }
      auto [src, xform, snk] = *current;
      auto ack = src.request<demo::Item, demo::Ack>(
          [&](demo::Item::Builder b) {
            b.setSeq(static_cast<uint64_t>(seq));
            b.setTransform(xform.id());
            b.setSink(snk.id());
          },
          10s);
      if (ack && ack->getDelivered()) {
        received = static_cast<long long>(ack->getReceived());
        sum = ack->getSum();
        break;
      }
      if (++resent > 100) {
        std::puts("giving up: the pipeline keeps failing");
        return 1;
      }
    }
    (void)audit.send<demo::Add>([](demo::Add::Builder b) { b.setBy(1); });
  }
  std::printf("fed %lld items; %lld of them went again after a crash on their way\nrestarts:", items, resent);
  const char* comma = "";
  for (auto& row : root.snapshot()) {
    std::printf("%s %s %llu", comma, row.path.c_str(), (unsigned long long)row.restarts);
    comma = ",";
  }
  std::printf("\nsink received %lld of %lld items, sum of squares %lld (expected %lld)\n", received, items, sum,
              items * (items + 1) * (2 * items + 1) / 6);

  // A failure at root's level: one_for_one restarts the auditor alone.
  auto counted = audit.request<demo::Get, demo::Count>({}, 10s);
  audit.current()->kill();
  auto again = audit.request<demo::Get, demo::Count>({}, 10s, /*resend_on_restart=*/true);  // the new incarnation
  std::printf("auditor counted %lld items, was killed, and root restarted it alone:\n  %s\n",
              counted ? (long long)counted->getValue() : -1LL,
              again && !root.restart_log().empty() ? to_string(root.restart_log().front()).c_str() : "no restart?!");
  std::printf("%s", to_string(root.snapshot()).c_str());
  return received == items && sum == items * (items + 1) * (2 * items + 1) / 6 ? 0 : 1;
}
