// pool_bench: the pool's throughput on the shapes the Python anchors measure
// (shared/anchors/py/mp_anchors.py, section A5), so that a change to the
// dispatcher or to future<V> shows up as a ratio between two runs.
//
//   ./build/bench/pool_bench            # ~20 s
//   ./build/bench/pool_bench --quick    # ~5 s
//   --rows FILE: appends the rows of bench/figures.tsv (bench/rows.hpp)
//
// Rows (a pool of 2 workers; the task squares a number; median over repetitions):
// - start + first result: pool::start, then one apply(); ms.
// - apply_async N then get each: N submit() calls, then get() on each future in
//   order (Python's `[pool.apply_async(square, (i,)) ...]` then `r.get()`); tasks/s.
// - apply_async N with a callback: the same, counting in the done-callbacks, then
//   close() and join(); tasks/s. The dispatcher runs every callback.
// - submit N then get each, N = 25k: ProcessPoolExecutor's submit + result shape
//   (for us the same call as apply_async; Python's executor is another path).
// - map N, chunksize N/8: Python's default chunksize for 2 processes; tasks/s.
// - imap_unordered N, chunksize 1: one task per message, results as they come; tasks/s.
// Python's figures on this kind of machine (RESULTS.md): apply_async 40k about
// 11,500 tasks/s; map 1M about 3,000,000 tasks/s.

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include "rows.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using clk = std::chrono::steady_clock;

void square(demo::Ping::Reader in, demo::Pong::Builder out) { out.setSeq(in.getSeq() * in.getSeq()); }

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "pool_bench: %s\n", what.c_str());
  std::exit(1);
}

// One row: `reps` runs of `run` (each returns its figure), printed as median
// [min..max]; and, when the row is a figure of bench/figures.tsv, its ROW line.
void row(const char* name, const char* unit, int reps, const std::function<double()>& run,
         const char* figure = nullptr) {
  std::vector<double> figures;
  for (int i = 0; i < reps; ++i) figures.push_back(run());
  auto [lo, hi] = std::minmax_element(figures.begin(), figures.end());
  std::printf("%-44s %12.1f %-8s [%.1f..%.1f]\n", name, median(figures), unit, *lo, *hi);
  std::fflush(stdout);
  if (figure) bench::emit_row(figure, "ours", figures, unit);
}

auto fill_seq = [](demo::Ping::Builder b, uint64_t x) { b.setSeq(x); };

// How many get() calls found their future pending and had to wait: what a
// change to future<V>'s wait costs scales with it.
uint64_t blocked_gets = 0;

double apply_async_then_get(actorproc::pool& p, uint64_t n) {
  auto t0 = clk::now();
  std::vector<actorproc::pool_future<demo::Pong>> futures;
  futures.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    futures.push_back(p.submit<demo::Ping, demo::Pong>([i](demo::Ping::Builder b) { b.setSeq(i); }));
  }
  for (uint64_t i = 0; i < n; ++i) {
    if (!futures[i].ready()) ++blocked_gets;
    auto r = futures[i].get(60s);
    if (!r || r->getSeq() != i * i) fail("apply_async: a wrong or missing result");
  }
  return static_cast<double>(n) / seconds_since(t0);
}

double apply_async_with_callbacks(actorproc::node& node, uint64_t n) {
  auto p = actorproc::pool::start(node, {.processes = 2}).value();
  std::atomic<uint64_t> sum{0};
  auto t0 = clk::now();
  for (uint64_t i = 0; i < n; ++i) {
    p.apply_async<demo::Ping, demo::Pong>([i](demo::Ping::Builder b) { b.setSeq(i); },
                                          [&](const actorproc::pool_result<demo::Pong>& r) { sum += r.getSeq(); });
  }
  p.close();
  if (!p.join(60s)) fail("apply_async with callbacks: join failed");
  double rate = static_cast<double>(n) / seconds_since(t0);
  uint64_t want = 0;
  for (uint64_t i = 0; i < n; ++i) want += i * i;
  if (sum != want) fail("apply_async with callbacks: a callback is missing");
  return rate;
}

double map_chunked(actorproc::pool& p, uint64_t n) {
  std::vector<uint64_t> inputs(n);
  std::iota(inputs.begin(), inputs.end(), uint64_t{0});
  auto t0 = clk::now();
  auto all = p.map<demo::Ping, demo::Pong>(inputs, fill_seq, {.chunksize = std::max<uint64_t>(1, n / 8), .timeout = 60s});
  if (!all || all->size() != n || (*all)[n - 1].getSeq() != (n - 1) * (n - 1)) fail("map: a wrong or missing result");
  return static_cast<double>(n) / seconds_since(t0);
}

double imap_unordered_single(actorproc::pool& p, uint64_t n) {
  auto t0 = clk::now();
  auto results = p.imap_unordered<demo::Ping, demo::Pong>(std::views::iota(uint64_t{0}, n), fill_seq);
  for (uint64_t i = 0; i < n; ++i) {
    if (!results.next(60s)) fail("imap_unordered: a missing result");
  }
  return static_cast<double>(n) / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actorproc::add_pool(actors, actorproc::pool_functions().add<demo::Ping, demo::Pong>(square));
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  bench::take_rows_option(argc, argv);
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (argc > 2 || (argc > 1 && !quick)) {
    std::fprintf(stderr, "usage: %s [--quick] [--rows FILE]\n", argv[0]);
    return 2;
  }
  const int reps = quick ? 3 : 5;
  // Full: the counts of Python's A5. Quick: smaller, the same as the Python
  // script's --quick (bench/py/mp_baselines.py), so the two stay comparable.
  const uint64_t n_async = quick ? 10'000 : 40'000, n_map = quick ? 200'000 : 1'000'000, n_imap = quick ? 5'000 : 20'000,
                 n_submit = quick ? 5'000 : 25'000;

  actorproc::node node{actors};
  std::printf("pool_bench (%s): a pool of 2 workers, %d reps per row, median [min..max]\n", quick ? "quick" : "full",
              reps);
  row("start + first result", "ms", reps, [&] {
    auto t0 = clk::now();
    auto p = actorproc::pool::start(node, {.processes = 2}).value();
    if (!p.apply<demo::Ping, demo::Pong>([](demo::Ping::Builder b) { b.setSeq(3); }, 10s)) fail("start: no result");
    double ms = seconds_since(t0) * 1000;
    p.close();
    (void)p.join(10s);
    return ms;
  });
  auto p = actorproc::pool::start(node, {.processes = 2}).value();
  (void)p.map<demo::Ping, demo::Pong>(std::vector<uint64_t>(1000, 1), fill_seq);  // warm
  std::string name = "apply_async " + std::to_string(n_async / 1000) + "k then get each";
  row(name.c_str(), "tasks/s", reps, [&] { return apply_async_then_get(p, n_async); }, "pool_apply_async_40k");
  std::printf("  (get() waited for a pending future %.1f%% of the time)\n",
              100.0 * static_cast<double>(blocked_gets) / static_cast<double>(reps * n_async));
  name = "apply_async " + std::to_string(n_async / 1000) + "k with callbacks, join";
  row(name.c_str(), "tasks/s", reps, [&] { return apply_async_with_callbacks(node, n_async); });
  name = "submit " + std::to_string(n_submit / 1000) + "k then get each";
  row(name.c_str(), "tasks/s", reps, [&] { return apply_async_then_get(p, n_submit); }, "pool_submit_25k");
  name = "map " + std::to_string(n_map / 1000) + "k, chunksize n/8";
  row(name.c_str(), "tasks/s", reps, [&] { return map_chunked(p, n_map); }, "pool_map_1M_default");
  name = "imap_unordered " + std::to_string(n_imap / 1000) + "k, chunksize 1";
  row(name.c_str(), "tasks/s", reps, [&] { return imap_unordered_single(p, n_imap); });
  p.close();
  if (!p.join(60s)) fail("join failed");
  return 0;
}
