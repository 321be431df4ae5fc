// queue_bench: Queue and JoinableQueue throughput on the shapes the Python
// anchors measure (shared/anchors/py/mp_anchors.py, sections A3 and A4, and
// A3h: the parent as producer or consumer), so that each figure sits beside
// Python's multiprocessing.Queue in the benchmark table.
//
//   ./build/bench/queue_bench            # ~25 s (three ways per row)
//   ./build/bench/queue_bench --quick    # ~6 s
//   ./build/bench/queue_bench --rows FILE   # also appends the ROW lines (bench/rows.hpp)
//
// Rows (items are small ints, demo::Count; a queue of maxsize 1000, or
// --maxsize, where Python's is unbounded; median over repetitions, [min..max]):
// - queue_2to1_actors: two producer actors put N ints each, then a sentinel;
//   one consumer actor gets until it has seen both sentinels (A3). Timed from
//   the start until the consumer reports.
// - queue_host_put: the node's thread puts N ints and a sentinel; a consumer
//   actor drains them (A3h, parent puts). Timed until the consumer reports.
// - queue_host_get: a producer actor puts N ints and a sentinel; the node's
//   thread gets them (A3h, parent gets).
// - jqueue_put_taskdone_join: the node's thread puts N ints into a joinable
//   queue, a consumer actor gets and acknowledges each, the node joins (A4).
// Each row runs three ways: routed (the actors' clients opt out with
// routed_caller, so every frame passes through the node), connected (the host
// connects each actor to the queue with node.connect), and default (queue_in:
// each actor's client connects itself, with causal order; patterns/client.hpp).
// The default's figure is the row's. The host's own client is routed always.

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include "rows.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using clk = std::chrono::steady_clock;
constexpr int64_t sentinel = -1;
std::size_t maxsize = 1000;  // --maxsize

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "queue_bench: %s\n", what.c_str());
  std::exit(1);
}

template <class Caller>
void put_int(actorproc::queue_client<Caller>& q, int64_t v) {
  auto put = q.template put<demo::Count>([v](demo::Count::Builder b) { b.setValue(v); }, 30s);
  if (!put) throw std::runtime_error("put: " + to_string(put.error()));
}

// The actor's client of the queue: routed if its args say so (args[1]), else queue_in's default.
actorproc::queue_client<actorproc::from_actor> client_in(actorproc::context& ctx, actorproc::actor_ref q) {
  if (ctx.args().size() > 1 && ctx.args()[1] == "routed") {
    return actorproc::queue_client<actorproc::from_actor>(actorproc::routed_caller(ctx, q));
  }
  return actorproc::queue_in(ctx, q);
}

// Start{peer = queue, rounds = N}: puts 0..N-1, then the sentinel; answers Done.
struct producer {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    auto q = client_in(ctx, {m.getPeer()});
    for (uint64_t i = 0; i < m.getRounds(); ++i) put_int(q, static_cast<int64_t>(i));
    put_int(q, sentinel);
    ctx.reply<demo::Done>([&](demo::Done::Builder b) { b.setRounds(m.getRounds()); });
  }
};

// Start{peer = queue, rounds = sentinels to see}: gets (and, on a joinable
// queue, acknowledges) until it has seen that many sentinels; answers Done
// with the count of ints.
struct consumer {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    auto q = client_in(ctx, {m.getPeer()});
    bool joinable = !ctx.args().empty() && ctx.args()[0] == "ack";
    uint64_t count = 0, seen = 0;
    while (seen < m.getRounds()) {
      auto item = q.get<demo::Count>(30s);
      if (!item) throw std::runtime_error("get: " + to_string(item.error()));
      if (item->value().getValue() == sentinel) {
        ++seen;
      } else {
        ++count;
      }
      if (joinable) q.task_done().value();
    }
    ctx.reply<demo::Done>([&](demo::Done::Builder b) { b.setRounds(count); });
  }
};

std::future<actorproc::expected<actorproc::message<demo::Done>>> start(const actorproc::actor_handle& a,
                                                                      const actorproc::actor_handle& q,
                                                                      uint64_t rounds) {
  auto done = std::make_shared<std::promise<actorproc::expected<actorproc::message<demo::Done>>>>();
  a.request_async<demo::Start, demo::Done>(
      [&](demo::Start::Builder b) {
        b.setPeer(q.id());
        b.setRounds(rounds);
      },
      [done](actorproc::expected<actorproc::message<demo::Done>> r) { done->set_value(std::move(r)); });
  return done->get_future();
}

uint64_t finish(std::future<actorproc::expected<actorproc::message<demo::Done>>>& f) {
  if (f.wait_for(60s) != std::future_status::ready) fail("an actor did not answer within 60 s");
  auto r = f.get();
  if (!r) fail("an actor failed: " + to_string(r.error()));
  return r->getRounds();
}

enum class mode { routed, connected, by_default };

struct setup {
  actorproc::node& node;
  mode how;
  actorproc::actor_handle spawn(const char* type, const actorproc::actor_handle& q, bool ack = false) const {
    auto a = node.spawn(type, {.args = {ack ? "ack" : "", how == mode::routed ? "routed" : ""}}).value();
    if (how == mode::connected && !node.connect(a, q)) fail("connect failed");
    return a;
  }
  actorproc::actor_handle queue(bool joinable = false) const {
    return actorproc::start_queue(node, {.maxsize = maxsize, .joinable = joinable}).value();
  }
};

double two_to_one(const setup& s, uint64_t n) {
  auto q = s.queue();
  auto c = s.spawn("consumer", q), p1 = s.spawn("producer", q), p2 = s.spawn("producer", q);
  auto t0 = clk::now();
  auto got = start(c, q, 2);
  auto r1 = start(p1, q, n), r2 = start(p2, q, n);
  uint64_t count = finish(got);
  double rate = static_cast<double>(count) / seconds_since(t0);
  finish(r1);
  finish(r2);
  if (count != 2 * n) fail("2->1: " + std::to_string(count) + " items of " + std::to_string(2 * n));
  for (auto& a : {c, p1, p2, q}) a.stop();
  return rate;
}

double host_put(const setup& s, uint64_t n) {
  auto q = s.queue();
  auto c = s.spawn("consumer", q);
  actorproc::queue_client<actorproc::actor_handle> client(q);
  auto got = start(c, q, 1);
  auto t0 = clk::now();
  for (uint64_t i = 0; i < n; ++i) put_int(client, static_cast<int64_t>(i));
  put_int(client, sentinel);
  uint64_t count = finish(got);
  double rate = static_cast<double>(count) / seconds_since(t0);
  if (count != n) fail("host put: " + std::to_string(count) + " items of " + std::to_string(n));
  c.stop();
  q.stop();
  return rate;
}

double host_get(const setup& s, uint64_t n) {
  auto q = s.queue();
  auto p = s.spawn("producer", q);
  actorproc::queue_client<actorproc::actor_handle> client(q);
  auto t0 = clk::now();
  auto put = start(p, q, n);
  uint64_t count = 0;
  for (;;) {
    auto item = client.get<demo::Count>(30s);
    if (!item) fail("host get: " + to_string(item.error()));
    if (item->value().getValue() == sentinel) break;
    ++count;
  }
  double rate = static_cast<double>(count) / seconds_since(t0);
  finish(put);
  if (count != n) fail("host get: " + std::to_string(count) + " items of " + std::to_string(n));
  p.stop();
  q.stop();
  return rate;
}

double put_taskdone_join(const setup& s, uint64_t n) {
  auto q = s.queue(true);
  actorproc::queue_client<actorproc::actor_handle> client(q);
  put_int(client, 0);  // the warm-up item: the consumer is up once it is acknowledged
  auto c = s.spawn("consumer", q, true);
  auto got = start(c, q, 1);
  if (!client.join(30s)) fail("join (warm-up) failed");
  auto t0 = clk::now();
  for (uint64_t i = 0; i < n; ++i) put_int(client, static_cast<int64_t>(i));
  if (auto j = client.join(60s); !j) fail("join: " + to_string(j.error()));
  double rate = static_cast<double>(n) / seconds_since(t0);
  put_int(client, sentinel);
  if (finish(got) != n + 1) fail("put/task_done/join: the consumer saw another count");
  c.stop();
  q.stop();
  return rate;
}

std::string only_figure;

// One figure: `reps` runs of `run`, printed as median [min..max], and its ROW.
void row(const char* figure, const char* label, int reps, const std::function<double()>& run) {
  if (!only_figure.empty() && only_figure != figure && only_figure != std::string(figure) + "/" + label) return;
  std::vector<double> rates;
  for (int i = 0; i < reps; ++i) rates.push_back(run());
  auto s = bench::summarize(rates);
  std::printf("%-28s %-10s %12.0f items/s [%.0f..%.0f]\n", figure, label, s.median, s.min, s.max);
  std::fflush(stdout);
  if (label == std::string("default")) bench::emit_row(figure, "ours", s, "items/s");
}

}  // namespace

int main(int argc, char** argv) {
  bench::take_rows_option(argc, argv);
  actorproc::entry_table actors;
  actors.add<producer>("producer").add<consumer>("consumer");
  actorproc::add_queue(actors);
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  bool quick = false;
  uint64_t n_given = 0;
  std::string only;  // one figure id (or id/label: queue_2to1_actors/routed), or all
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--maxsize" && i + 1 < argc) {
      maxsize = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--n" && i + 1 < argc) {
      n_given = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--n ITEMS] [--maxsize N] [--only FIGURE] [--rows FILE]\n", argv[0]);
      return 2;
    }
  }
  const int reps = quick ? 3 : 5;
  // Python's counts (bench/py/mp_baselines.py): A3 30 k per producer, A3h 30 k,
  // A4 20 k; quick: 10 k, 10 k, 8 k.
  const uint64_t n_queue = n_given ? n_given : quick ? 10'000 : 30'000;
  const uint64_t n_joinable = n_given ? n_given : quick ? 8'000 : 20'000;
  only_figure = only;
  actorproc::node node{actors};
  std::printf("queue_bench (%s): maxsize %zu, %d reps per row, median [min..max]\n", quick ? "quick" : "full",
              maxsize, reps);
  for (mode how : {mode::routed, mode::connected, mode::by_default}) {
    setup s{node, how};
    const char* label = how == mode::routed ? "routed" : how == mode::connected ? "connected" : "default";
    row("queue_2to1_actors", label, reps, [&] { return two_to_one(s, n_queue); });
    row("queue_host_put", label, reps, [&] { return host_put(s, n_queue); });
    row("queue_host_get", label, reps, [&] { return host_get(s, n_queue); });
    row("jqueue_put_taskdone_join", label, reps, [&] { return put_taskdone_join(s, n_joinable); });
  }
  return 0;
}
