// shared_bench: d['n'] += 1 from two actors, in the shape of Python's A7
// (shared/anchors/py/mp_anchors.py, a7_manager_dict: `with lock: d["k"] =
// d["k"] + 1` in two processes against a Manager), and as one atomic update.
//
//   ./build/bench/shared_bench [--quick] [--reps N] [--rounds R] [--only TEXT] [--rows FILE]
//
// --only runs the rows whose label contains TEXT (to profile one of them).
//
// Rows (bench/figures.tsv), increments/s = 2R / the slower actor's time,
// median over repetitions [min..max]:
// - dict_incr_lock_2actors: each actor runs R times lock.acquire(),
//   dict.get("n"), dict.set("n", v + 1), lock.release(), against one lock
//   and one dict actor, each client on a direct channel (lock_in(), dict_in()).
// - dict_incr_atomic_2actors: each actor runs R times dict.add("n", "value",
//   1), one request that answers the new value, on a direct channel.
// - raw side of dict_incr_atomic_2actors: the same shape in plain C
//   (raw_baselines.h, raw_rpc2): 2 client processes x 4R 64 B request/answer
//   round trips against one server process that polls both sockets.
// Printed beside them, without a row: the same routed (routed_caller()), the
// lock path with release_nowait (one-way), and add_nowait (one-way, then one
// sync) connected.

#include "raw_baselines.h"
#include "rows.hpp"

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using clk = std::chrono::steady_clock;

template <class T>
T must(actorproc::expected<T> value, const std::string& what) {
  if (!value) throw std::runtime_error(what + ": " + to_string(value.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

enum class mode : uint64_t { lock_get_set_release, lock_get_set_release_nowait, atomic_add, add_nowait };

// Start{peer = mode, rounds}: that many increments of the dict's "n"; args
// are the lock's and the dict's ids. Answers Done with the time taken.
struct incrementer {
  using handles = actorproc::handles<demo::Start>;
  explicit incrementer(actorproc::context& ctx)
      : lock_id(std::stoull(ctx.args().at(0))),
        dict_id(std::stoull(ctx.args().at(1))),
        routed(ctx.args().at(2) == "routed") {}
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    // lock_in() and dict_in() connect directly; the routed rows opt out.
    auto lock = routed ? actorproc::lock_client<actorproc::from_actor>(actorproc::routed_caller(ctx, {lock_id}))
                       : actorproc::lock_in(ctx, {lock_id});
    auto dict = routed ? actorproc::dict_client<actorproc::from_actor>(actorproc::routed_caller(ctx, {dict_id}))
                       : actorproc::dict_in(ctx, {dict_id});
    auto how = static_cast<mode>(m.getPeer());
    auto t0 = clk::now();
    for (uint64_t i = 0; i < m.getRounds(); ++i) {
      switch (how) {
        case mode::lock_get_set_release:
        case mode::lock_get_set_release_nowait: {
          must(lock.acquire(60s), "acquire");
          int64_t value = 0;
          if (auto v = dict.get<demo::Count>("n")) value = v->value().getValue();
          must(dict.set<demo::Count>("n", [&](demo::Count::Builder b) { b.setValue(value + 1); }), "set");
          must(how == mode::lock_get_set_release ? lock.release() : lock.release_nowait(), "release");
          break;
        }
        case mode::atomic_add:
          must(dict.add<demo::Count>("n", "value", 1), "add");
          break;
        case mode::add_nowait:
          must(dict.add_nowait<demo::Count>("n", "value", 1), "add_nowait");
          break;
      }
    }
    if (how == mode::add_nowait) must(dict.sync(), "sync");
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count();
    ctx.reply<demo::Done>([&](demo::Done::Builder d) {
      d.setRounds(m.getRounds());
      d.setNanos(static_cast<uint64_t>(nanos));
    });
  }
  uint64_t lock_id, dict_id;
  bool routed;
};

// Two incrementers against a fresh lock and dict; increments/s.
double two_increment(actorproc::node& node, mode how, bool connected, uint64_t rounds) {
  auto lock = must(actorproc::start_lock(node), "start lock");
  auto dict = must(actorproc::start_dict(node), "start dict");
  must(actorproc::dict_client<actorproc::actor_handle>(dict).set<demo::Count>("n", [](demo::Count::Builder) {}),
       "set n");
  std::vector<actorproc::actor_handle> incs;
  for (int k = 0; k < 2; ++k) {
    actorproc::spawn_options o;
    o.args = {std::to_string(lock.id()), std::to_string(dict.id()), connected ? "direct" : "routed"};
    incs.push_back(must(node.spawn("incrementer", std::move(o)), "incrementer"));
  }
  std::vector<std::promise<uint64_t>> done(2);
  for (int k = 0; k < 2; ++k) {
    incs[k].request_async<demo::Start, demo::Done>(
        [&](demo::Start::Builder b) {
          b.setPeer(static_cast<uint64_t>(how));
          b.setRounds(rounds);
        },
        [&done, k](actorproc::expected<actorproc::message<demo::Done>> d) {
          if (d) {
            done[k].set_value(d->getNanos());
          } else {
            done[k].set_exception(std::make_exception_ptr(std::runtime_error(to_string(d.error()))));
          }
        });
  }
  uint64_t slowest = 0;
  for (auto& d : done) {
    auto f = d.get_future();
    if (f.wait_for(120s) != std::future_status::ready) throw std::runtime_error("an incrementer did not answer");
    slowest = std::max(slowest, f.get());
  }
  auto total = must(actorproc::dict_client<actorproc::actor_handle>(dict).get<demo::Count>("n"), "final get");
  if (total.value().getValue() != static_cast<int64_t>(2 * rounds)) {
    throw std::runtime_error("d['n'] is " + std::to_string(total.value().getValue()) + ", not " +
                             std::to_string(2 * rounds));
  }
  for (auto& h : incs) h.kill();
  lock.kill();
  dict.kill();
  return static_cast<double>(2 * rounds) * 1e9 / static_cast<double>(slowest);
}

struct config {
  int reps = 7;
  uint64_t rounds = 2000;
  std::string only;  // run only the rows whose label contains this
};

config parse(int argc, char** argv) {
  config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--quick") {
      cfg.reps = 5;
      cfg.rounds = 500;
    } else if (a == "--reps") {
      cfg.reps = static_cast<int>(value());
    } else if (a == "--rounds") {
      cfg.rounds = value();
    } else if (a == "--only" && i + 1 < argc) {
      cfg.only = argv[++i];
    } else {
      throw std::runtime_error("usage: shared_bench [--quick] [--reps N] [--rounds R] [--only TEXT] [--rows FILE]");
    }
  }
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<incrementer>("incrementer");
  actorproc::add_lock(actors);
  actorproc::add_shared(actors);
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
  bench::take_rows_option(argc, argv);
  try {
    config cfg = parse(argc, argv);
    // Forked before the node starts its threads (raw_baselines.h).
    raw_rpc2 raw{};
    if (raw_rpc2_start(&raw) != 0) throw std::runtime_error("raw baseline: cannot start its processes");
    auto raw_rate = [&](uint64_t rounds) {
      uint64_t ns = raw_rpc2_run(&raw, static_cast<long>(rounds));
      if (ns == 0) throw std::runtime_error("raw baseline failed");
      return static_cast<double>(2 * rounds) * 1e9 / static_cast<double>(ns);
    };
    actorproc::node node{actors};
    struct row {
      const char* label;
      mode how;
      bool connected;
      const char* figure;  // nullptr: printed only
      uint64_t rounds;
      std::vector<double> rates = {};
    };
    std::vector<row> rows{
        {"lock, get, set, release; connected", mode::lock_get_set_release, true, "dict_incr_lock_2actors", cfg.rounds},
        {"lock, get, set, release; routed", mode::lock_get_set_release, false, nullptr, cfg.rounds},
        {"lock, get, set, release_nowait; connected", mode::lock_get_set_release_nowait, true, nullptr, cfg.rounds},
        {"atomic add (one request); connected", mode::atomic_add, true, "dict_incr_atomic_2actors", 4 * cfg.rounds},
        {"atomic add (one request); routed", mode::atomic_add, false, nullptr, 4 * cfg.rounds},
        {"add_nowait (one-way) + sync; connected", mode::add_nowait, true, nullptr, 50 * cfg.rounds},
    };
    std::erase_if(rows, [&](const row& r) { return std::string(r.label).find(cfg.only) == std::string::npos; });
    const char* raw_label = "raw C: 2 clients, 1 polling server";
    bool with_raw = std::string(raw_label).find(cfg.only) != std::string::npos;
    std::vector<double> raw_rates;
    for (auto& r : rows) two_increment(node, r.how, r.connected, r.rounds / 10);  // warm-up
    if (with_raw) raw_rate(4 * cfg.rounds / 10);
    // Repetitions interleave the rows, so that the host's noise hits them alike.
    for (int rep = 0; rep < cfg.reps; ++rep) {
      for (auto& r : rows) r.rates.push_back(two_increment(node, r.how, r.connected, r.rounds));
      if (with_raw) raw_rates.push_back(raw_rate(4 * cfg.rounds));
    }
    raw_rpc2_stop(&raw);
    std::printf("d['n'] += 1 from 2 actors, increments/s, median [min .. max] of %d reps\n", cfg.reps);
    for (auto& r : rows) {
      auto s = bench::summarize(r.rates);
      std::printf("  %-42s %10.0f  [%.0f .. %.0f]  (%llu per actor)\n", r.label, s.median, s.min, s.max,
                  static_cast<unsigned long long>(r.rounds));
      if (r.figure != nullptr) bench::emit_row(r.figure, "ours", s, "ops/s");
    }
    if (with_raw) {
      auto s = bench::summarize(raw_rates);
      std::printf("  %-42s %10.0f  [%.0f .. %.0f]  (%llu per client)\n", raw_label, s.median,
                  s.min, s.max, static_cast<unsigned long long>(4 * cfg.rounds));
      bench::emit_row("dict_incr_atomic_2actors", "raw", s, "ops/s");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shared_bench: %s\n", e.what());
    return 1;
  }
}
