// pipe_bench: a Pipe between two actors, 64 B messages one way, in the shape of
// Python's A2 (shared/anchors/py/mp_anchors.py, a2_pipe_throughput with
// send_bytes): the receiver says "ready" on the pipe, the sender sends N
// messages, the receiver answers "done" on the pipe once it has all of them;
// the rate is N over the sender's time from "ready" to "done".
//
//   ./build/bench/pipe_bench [--quick] [--reps N] [--messages M] [--rows FILE]
//
// Row pipe_64B_oneway (bench/figures.tsv): messages/s, median over repetitions
// [min..max]. Each message is a demo::Ping whose payload is 64 bytes of Data,
// as Python's is 64 bytes. Every wait is bounded: a stall fails the run (with
// the repetition it happened in) instead of hanging it.

#include "rows.hpp"

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using clk = std::chrono::steady_clock;
constexpr auto patience = 30s;  // no single wait of a repetition takes nearly this long

template <class T>
T must(actorproc::expected<T> value, const std::string& what) {
  if (!value) throw std::runtime_error(what + ": " + to_string(value.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

// The same inside the loops, where building the text for every message would
// cost more than the message: `i` says which one failed.
template <class T>
T must_nth(actorproc::expected<T> value, const char* what, uint64_t i) {
  if (!value) throw std::runtime_error(std::string(what) + " " + std::to_string(i) + ": " + to_string(value.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

// The pipe end an actor was given at spawn.
actorproc::pipe_end inherited_end(actorproc::context& ctx) {
  if (ctx.inherited_fds().empty()) throw std::runtime_error(ctx.name() + ": no pipe end given");
  return actorproc::pipe_end(std::move(ctx.inherited_fds()[0]));
}

// Start{rounds}: says ready on the pipe, receives `rounds` Pings, says done.
struct pipe_sink {
  using handles = actorproc::handles<demo::Start>;
  explicit pipe_sink(actorproc::context& ctx) : end(inherited_end(ctx)) {}
  void on(demo::Start::Reader m, actorproc::context&) {
    must(end.send<demo::Pong>(), "sink: ready");
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < m.getRounds(); ++i) {
      auto in = must_nth(end.receive<demo::Ping>(patience), "sink: receive", i);
      bytes += in.getPayload().size();
    }
    must(end.send<demo::Count>([&](demo::Count::Builder c) { c.setValue(static_cast<int64_t>(bytes)); }),
         "sink: done");
  }
  actorproc::pipe_end end;
};

// Start{rounds}: waits for ready, sends `rounds` 64 B Pings, waits for done;
// answers Done with the time from ready to done.
struct pipe_source {
  using handles = actorproc::handles<demo::Start>;
  explicit pipe_source(actorproc::context& ctx) : end(inherited_end(ctx)) {}
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    must(end.receive<demo::Pong>(patience), "source: ready");
    uint8_t payload[64];
    std::memset(payload, 'x', sizeof payload);
    auto t0 = clk::now();
    for (uint64_t i = 0; i < m.getRounds(); ++i) {
      must_nth(end.send<demo::Ping>(
                   [&](demo::Ping::Builder b) {
                     b.setSeq(i);
                     b.setPayload(kj::arrayPtr(payload, sizeof payload));
                   },
                   patience),
               "source: send", i);
    }
    auto done = must(end.receive<demo::Count>(patience), "source: done");
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count();
    if (done.getValue() != static_cast<int64_t>(64 * m.getRounds())) throw std::runtime_error("source: bytes lost");
    ctx.reply<demo::Done>([&](demo::Done::Builder d) {
      d.setRounds(m.getRounds());
      d.setNanos(static_cast<uint64_t>(nanos));
    });
  }
  actorproc::pipe_end end;
};

struct config {
  int reps = 7;
  uint64_t messages = 2'000'000;
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
      cfg.messages = 500'000;
    } else if (a == "--reps") {
      cfg.reps = static_cast<int>(value());
    } else if (a == "--messages") {
      cfg.messages = value();
    } else {
      throw std::runtime_error("usage: pipe_bench [--quick] [--reps N] [--messages M] [--rows FILE]");
    }
  }
  return cfg;
}

// One repetition: a fresh pipe between a fresh sink and source.
double one_run(actorproc::node& node, uint64_t messages) {
  auto [a, b] = must(actorproc::make_pipe(), "make_pipe");
  actorproc::spawn_options to_sink, to_source;
  to_sink.fds.push_back(a.release());
  to_source.fds.push_back(b.release());
  auto sink = must(node.spawn("pipe_sink", std::move(to_sink)), "spawn sink");
  auto source = must(node.spawn("pipe_source", std::move(to_source)), "spawn source");
  must(sink.send<demo::Start>([&](demo::Start::Builder s) { s.setRounds(messages); }), "start sink");
  auto done = must(source.request<demo::Start, demo::Done>([&](demo::Start::Builder s) { s.setRounds(messages); },
                                                           patience + patience),
                   "source");
  sink.kill();
  source.kill();
  return static_cast<double>(done.getRounds()) * 1e9 / static_cast<double>(done.getNanos());
}

}  // namespace

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<pipe_sink>("pipe_sink").add<pipe_source>("pipe_source");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
  bench::take_rows_option(argc, argv);
  try {
    config cfg = parse(argc, argv);
    actorproc::node node{actors};
    one_run(node, cfg.messages / 10);  // warm-up
    std::vector<double> rates;
    for (int r = 0; r < cfg.reps; ++r) rates.push_back(one_run(node, cfg.messages));
    auto s = bench::summarize(rates);
    std::printf("%-50s %10.2fM msg/s [%.2fM .. %.2fM], %d reps of %llu\n", "Pipe, 64 B one-way, actor -> actor",
                s.median / 1e6, s.min / 1e6, s.max / 1e6, cfg.reps, static_cast<unsigned long long>(cfg.messages));
    bench::emit_row("pipe_64B_oneway", "ours", s, "msg/s");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipe_bench: %s\n", e.what());
    return 1;
  }
}
