// actorproc_bench: libactorproc's messaging figures beside raw socketpair
// baselines measured in the same run, with their ratios.
//
//   ./build-bench/bench/actorproc_bench            # ~40-60 s
//   ./build-bench/bench/actorproc_bench --quick    # ~10 s
//   options: --reps N, --placement none|same|diff|both|all, --only rt|tp,
//            (both = none + same, the default; all = none + same + diff)
//            --rows FILE (bench/rows.hpp: the rows of the first placement)
//
// (a) round trip: a "ping" actor makes N synchronous ctx.request<Ping, Pong>()
//     calls to a "pong" actor and reports the time (steady_clock, inside ping).
//     Once with a direct socketpair (node.connect), once routed through the node;
//     and from the host: the node's thread makes N actor_handle::request<Ping,
//     Pong>() calls to a pong actor, one at a time (timed on the host).
// (b) raw: 64 B ping-pong over a SOCK_STREAM socketpair with a forked echo child,
//     blocking read/write (shared/anchors/c/pingpong.c).
// (c) one-way throughput: a "source" actor sends M Ping messages to a "sink"
//     actor, then requests the count (Get -> Count); direct, routed, and from the
//     node's host thread with actor_handle::send. Raw: 1000 x 64 B messages per
//     write(), reader reads 64 KiB chunks (shared/anchors/c/stream.c batch_buf).
//
// Placements: "none" = no affinity; "same" = everything pinned to cpu0 with
// sched_setaffinity before anything is forked (= taskset -c 0), so the raw
// children, the node's threads, the zygote and every worker inherit it; "diff"
// (opt-in) = the driving side (node threads, ping, source, raw parent) on cpu0
// and the answering side (pong, sink, raw echo/reader child) on cpu1, i.e. every
// message crosses vCPUs. Unpinned runs land in either of the last two modes at
// the scheduler's whim, which is why the pinned rows exist. Each
// placement runs in a fresh process forked from main() (single-threaded at that
// point), which builds its own node. Repetitions of the raw and actor cases are
// interleaved, so noise on this shared host hits both alike; every figure is the
// median over repetitions of the per-repetition mean.
// Longer than 450 lines on purpose: one program prints one table, each section
// beside the raw baseline it is compared with in the same run.

#include <actorproc/actorproc.hpp>
#include <actorproc/wire/batch_builder.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/frame_writer.hpp>
#include <examples/messages.capnp.h>

#include "host_load.hpp"
#include "raw_baselines.h"
#include "rows.hpp"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using clk = std::chrono::steady_clock;

uint64_t nanos_since(clk::time_point t0) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count());
}

// ---- actors

struct pong {
  using handles = actorproc::handles<demo::Ping>;
  void on(demo::Ping::Reader m, actorproc::context& ctx) {
    ctx.reply<demo::Pong>([&](demo::Pong::Builder r) { r.setSeq(m.getSeq()); });
  }
};

struct ping {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    actorproc::actor_ref peer{m.getPeer()};
    uint64_t rounds = m.getRounds();
    auto t0 = clk::now();
    for (uint64_t i = 0; i < rounds; ++i) {
      auto answer = ctx.request<demo::Ping, demo::Pong>(peer, [&](demo::Ping::Builder b) { b.setSeq(i); });
      if (!answer) throw std::runtime_error("ping: request failed: " + to_string(answer.error()));
      if (answer->get().getSeq() != i) throw std::runtime_error("ping: answer out of order");
    }
    uint64_t nanos = nanos_since(t0);
    ctx.reply<demo::Done>([&](demo::Done::Builder d) {
      d.setRounds(rounds);
      d.setNanos(nanos);
    });
  }
};

struct sink {
  using handles = actorproc::handles<demo::Ping, demo::Get>;
  int64_t count = 0;
  void on(demo::Ping::Reader) { ++count; }
  void on(demo::Get::Reader, actorproc::context& ctx) {
    ctx.reply<demo::Count>([&](demo::Count::Builder c) { c.setValue(count); });
    count = 0;
  }
};

struct source {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    actorproc::actor_ref peer{m.getPeer()};
    uint64_t messages = m.getRounds();
    auto t0 = clk::now();
    for (uint64_t i = 0; i < messages; ++i) {
      auto sent = ctx.send<demo::Ping>(peer, [&](demo::Ping::Builder b) { b.setSeq(i); });
      if (!sent) throw std::runtime_error("source: send failed: " + to_string(sent.error()));
    }
    auto count = ctx.request<demo::Get, demo::Count>(peer, actorproc::no_fields{}, 60s);
    if (!count) throw std::runtime_error("source: count request failed: " + to_string(count.error()));
    uint64_t nanos = nanos_since(t0);
    ctx.reply<demo::Done>([&](demo::Done::Builder d) {
      d.setRounds(static_cast<uint64_t>(count->get().getValue()));
      d.setNanos(nanos);
    });
  }
};

// ---- configuration

struct config {
  bool quick = false;
  int reps = 7;
  std::vector<std::string> placements{"none", "same"};
  bool round_trip = true;
  bool throughput = true;
  // round trips per repetition
  long rt_raw = 5000, rt_direct = 5000, rt_routed = 2000, rt_host = 2000;
  // messages per repetition
  long tp_raw_batch = 3'000'000, tp_raw_write1 = 200'000, tp_direct = 1'000'000, tp_routed = 200'000, tp_host = 200'000;

  void make_quick() {
    quick = true;
    reps = 5;
    rt_raw = rt_direct = 1500;
    rt_routed = rt_host = 600;
    tp_raw_batch = 1'000'000;
    tp_raw_write1 = tp_routed = tp_host = 50'000;
    tp_direct = 300'000;
  }
};

[[noreturn]] void usage(const char* argv0, int rc) {
  std::fprintf(rc == 0 ? stdout : stderr,
               "usage: %s [--quick] [--reps N] [--placement none|same|diff|both|all] [--only rt|tp] "
               "[--rows FILE]\n",
               argv0);
  std::exit(rc);
}

config parse(int argc, char** argv) {
  config cfg;
  int reps = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0], 2);
      return argv[++i];
    };
    if (a == "--quick") {
      cfg.make_quick();
    } else if (a == "--reps") {
      reps = std::atoi(value().c_str());
      if (reps < 1) usage(argv[0], 2);
    } else if (a == "--placement") {
      std::string p = value();
      if (p == "both") {
        cfg.placements = {"none", "same"};
      } else if (p == "all") {
        cfg.placements = {"none", "same", "diff"};
      } else if (p == "none" || p == "same" || p == "diff") {
        cfg.placements = {p};
      } else {
        usage(argv[0], 2);
      }
    } else if (a == "--only") {
      std::string w = value();
      if (w != "rt" && w != "tp") usage(argv[0], 2);
      cfg.round_trip = w == "rt";
      cfg.throughput = w == "tp";
    } else if (a == "--help" || a == "-h") {
      usage(argv[0], 0);
    } else {
      usage(argv[0], 2);
    }
  }
  if (reps > 0) cfg.reps = reps;
  return cfg;
}

// ---- one placement, run in a forked process; results go up a pipe as lines
//      "<key> <value> <value> ..." (per-repetition values), or "error <text>".

struct reporter {
  FILE* out;
  std::map<std::string, std::vector<double>> series;
  void add(const std::string& key, double v) { series[key].push_back(v); }
  void flush() {
    for (auto& [key, values] : series) {
      std::fprintf(out, "%s", key.c_str());
      for (double v : values) std::fprintf(out, " %.9g", v);
      std::fprintf(out, "\n");
    }
    std::fflush(out);
  }
};

template <class T>
T check(actorproc::expected<T> value, const char* what) {
  if (!value) throw std::runtime_error(std::string(what) + ": " + to_string(value.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

// Asks a ping or source actor to run; returns {rounds/count, nanos}.
std::pair<uint64_t, uint64_t> start(const actorproc::actor_handle& driver, const actorproc::actor_handle& peer,
                                    uint64_t rounds) {
  auto done = driver.request<demo::Start, demo::Done>(
      [&](demo::Start::Builder b) {
        b.setPeer(peer.id());
        b.setRounds(rounds);
      },
      300s);
  if (!done) throw std::runtime_error(driver.name() + ": Start failed: " + to_string(done.error()));
  return {done->get().getRounds(), done->get().getNanos()};
}

int pin_pid(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::sched_setaffinity(pid, sizeof set, &set);
}

double us_per_rt(uint64_t nanos, long rounds) { return static_cast<double>(nanos) / 1e3 / static_cast<double>(rounds); }
double per_second(uint64_t count, uint64_t nanos) {
  return static_cast<double>(count) * 1e9 / static_cast<double>(nanos);
}

void expect_count(uint64_t got, long want, const char* what) {
  if (got != static_cast<uint64_t>(want)) {
    throw std::runtime_error(std::string(what) + ": sink counted " + std::to_string(got) + " of " +
                             std::to_string(want) + " messages");
  }
}

// The in-process cost of one batched Ping, with no IPC at all: what a sender
// spends building and framing it, and what a receiver spends validating it
// and reading its field (inline, with no dispatch). Their inverse bounds what
// any transport could reach: one CPU must pay both; two CPUs in a pipeline at
// best the larger.
std::pair<double, double> floor_ns(long messages) {
  namespace wire = actorproc::wire;
  wire::batch_builder batch;
  wire::frame_writer out;
  auto t0 = clk::now();
  for (long i = 0; i < messages; ++i) {
    if (!batch.accepts(2, 1)) {
      batch.close_into(out);
      out.clear();
      batch.open(2, 1);
    }
    batch.add<demo::Ping>().setSeq(static_cast<uint64_t>(i));
    if (batch.full()) {
      batch.close_into(out);
      out.clear();
    }
  }
  batch.close_into(out);
  double send = static_cast<double>(nanos_since(t0)) / static_cast<double>(messages);

  // One full batch, as the burst above makes them, read over and over.
  batch.open(2, 1);
  for (uint64_t i = 0; !batch.full(); ++i) batch.add<demo::Ping>().setSeq(i);
  out.clear();
  batch.close_into(out);
  std::vector<capnp::word> frame(out.size() / sizeof(capnp::word));
  std::memcpy(frame.data(), out.buffered().data(), out.size());
  wire::limits limits;
  uint64_t sum = 0;
  long read = 0;
  t0 = clk::now();
  while (read < messages) {
    wire::envelope_reader envelope(kj::arrayPtr(frame.data(), frame.size()), limits);
    for (auto payload : envelope.get().getBatch()) {
      if (payload.getTypeId() == capnp::typeId<demo::Ping>()) sum += payload.getBody().getAs<demo::Ping>().getSeq();
      ++read;
    }
  }
  double receive = static_cast<double>(nanos_since(t0)) / static_cast<double>(read);
  if (sum == 0) throw std::runtime_error("floor: nothing was read");
  return {send, receive};
}

int run_placement(const actorproc::entry_table& actors, const config& cfg, const std::string& placement, FILE* out) {
  reporter rep{out, {}};
  raw_pingpong pp{-1, -1};
  raw_stream st{-1, -1, nullptr};
  try {
    bool diff = placement == "diff";
    if ((placement == "same" || diff) && raw_pin_cpu(0) != 0)
      throw std::runtime_error("sched_setaffinity(cpu0) failed");
    // The raw children are forked first, while this process has no thread.
    int child_cpu = diff ? 1 : -1;
    if (raw_pingpong_start(&pp, child_cpu) != 0 || raw_stream_start(&st, child_cpu) != 0) {
      throw std::runtime_error("raw fork failed");
    }

    actorproc::node node{actors};
    auto spawn = [&](const char* type) { return check(node.spawn(type), type); };
    auto ping_d = spawn("ping"), pong_d = spawn("pong");
    auto ping_r = spawn("ping"), pong_r = spawn("pong");
    auto source_d = spawn("source"), sink_d = spawn("sink");
    auto source_r = spawn("source"), sink_r = spawn("sink");
    if (diff) {
      // The answering side moves to cpu1 (the zygote and the drivers stay on cpu0).
      for (auto* h : {&pong_d, &pong_r, &sink_d, &sink_r}) {
        if (pin_pid(h->pid(), 1) != 0) throw std::runtime_error("sched_setaffinity(" + h->name() + ", cpu1) failed");
      }
    }
    check(node.connect(ping_d, pong_d), "connect ping/pong");
    check(node.connect(source_d, sink_d), "connect source/sink");

    auto raw_rt = [&](long n) {
      uint64_t ns = raw_pingpong_run(&pp, n);
      if (ns == 0) throw std::runtime_error("raw ping-pong failed");
      return ns;
    };
    auto raw_tp = [&](raw_stream_mode mode, long n) {
      long sent = 0;
      uint64_t ns = raw_stream_run(&st, mode, n, &sent);
      if (ns == 0) throw std::runtime_error("raw stream failed");
      return per_second(static_cast<uint64_t>(sent), ns);
    };
    // The host's request, one at a time: what a program's main thread pays to
    // ask an actor something (its actor_handle goes through the node's reactor).
    auto host_rt = [&](const actorproc::actor_handle& to, long n) {
      auto t0 = clk::now();
      for (long i = 0; i < n; ++i) {
        auto seq = static_cast<uint64_t>(i);
        auto answer = check(to.request<demo::Ping, demo::Pong>([&](demo::Ping::Builder b) { b.setSeq(seq); }, 10s),
                            "host request");
        if (answer.getSeq() != seq) throw std::runtime_error("host request: answer out of order");
      }
      return nanos_since(t0);
    };
    auto host_tp = [&](const actorproc::actor_handle& to, long n) {
      auto t0 = clk::now();
      for (long i = 0; i < n; ++i) {
        check(to.send<demo::Ping>([&](demo::Ping::Builder b) { b.setSeq(static_cast<uint64_t>(i)); }, 10s),
              "host send");
      }
      auto count = check(to.request<demo::Get, demo::Count>({}, 60s), "host count request");
      uint64_t ns = nanos_since(t0);
      expect_count(static_cast<uint64_t>(count.getValue()), n, "host send");
      return per_second(static_cast<uint64_t>(n), ns);
    };

    if (cfg.round_trip) {
      // Warm-up: page in code and buffers on every path.
      raw_rt(500);
      start(ping_d, pong_d, 500);
      start(ping_r, pong_r, 200);
      host_rt(pong_r, 200);
      for (int r = 0; r < cfg.reps; ++r) {
        rep.add("rt.raw", us_per_rt(raw_rt(cfg.rt_raw), cfg.rt_raw));
        auto [n1, d] = start(ping_d, pong_d, static_cast<uint64_t>(cfg.rt_direct));
        rep.add("rt.direct", us_per_rt(d, cfg.rt_direct));
        auto [n2, rt] = start(ping_r, pong_r, static_cast<uint64_t>(cfg.rt_routed));
        rep.add("rt.routed", us_per_rt(rt, cfg.rt_routed));
        rep.add("rt.host", us_per_rt(host_rt(pong_r, cfg.rt_host), cfg.rt_host));
      }
    }
    if (cfg.throughput) {
      raw_tp(raw_stream_batch_buf, 100'000);
      raw_tp(raw_stream_write1, 10'000);
      start(source_d, sink_d, 20'000);
      start(source_r, sink_r, 5'000);
      host_tp(sink_r, 5'000);
      for (int r = 0; r < cfg.reps; ++r) {
        rep.add("tp.raw_batch", raw_tp(raw_stream_batch_buf, cfg.tp_raw_batch));
        auto [c1, d] = start(source_d, sink_d, static_cast<uint64_t>(cfg.tp_direct));
        expect_count(c1, cfg.tp_direct, "source->sink direct");
        rep.add("tp.direct", per_second(c1, d));
        rep.add("tp.raw_write1", raw_tp(raw_stream_write1, cfg.tp_raw_write1));
        auto [c2, rt] = start(source_r, sink_r, static_cast<uint64_t>(cfg.tp_routed));
        expect_count(c2, cfg.tp_routed, "source->sink routed");
        rep.add("tp.routed", per_second(c2, rt));
        rep.add("tp.host", host_tp(sink_r, cfg.tp_host));
        auto [send_ns, receive_ns] = floor_ns(cfg.tp_direct);
        rep.add("tp.ceiling_one_cpu", 1e9 / (send_ns + receive_ns));
        rep.add("tp.ceiling_two_cpus", 1e9 / std::max(send_ns, receive_ns));
      }
    }
    rep.flush();
    raw_pingpong_stop(&pp);
    raw_stream_stop(&st);
    return 0;  // the node stops its actors here
  } catch (const std::exception& e) {
    rep.flush();
    std::string text = e.what();
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::fprintf(out, "error %s\n", text.c_str());
    std::fflush(out);
    if (pp.pid > 0) raw_pingpong_stop(&pp);
    if (st.pid > 0) raw_stream_stop(&st);
    return 1;
  }
}

// ---- the parent: forks one process per placement, then prints the table

struct stats {
  double median = 0, min = 0, max = 0;
  bool ok = false;
};

stats summarize(std::vector<double> v) {
  stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  s.median = (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  s.ok = true;
  return s;
}

using results = std::map<std::string, std::vector<double>>;

bool run_forked(const actorproc::entry_table& actors, const config& cfg, const std::string& placement, results& out,
                std::string& error) {
  int fds[2];
  if (::pipe(fds) != 0) {
    error = "pipe failed";
    return false;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) {
    error = "fork failed";
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    FILE* f = ::fdopen(fds[1], "w");
    int rc = run_placement(actors, cfg, placement, f);
    std::fclose(f);
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(rc);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "error") {
      std::getline(words, error);
      continue;
    }
    double v;
    while (words >> v) out[key].push_back(v);
  }
  if (error.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    error = "the measuring process failed (status " + std::to_string(status) + ")";
  }
  return error.empty();
}

std::string human_rate(double v) {
  char text[32];
  if (v >= 1e6) {
    std::snprintf(text, sizeof text, "%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(text, sizeof text, "%.1fk", v / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f", v);
  }
  return text;
}

std::string fmt(const char* format, double v) {
  char text[48];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// One table of figures: every row beside the section's first row (the raw
// baseline), per placement, with the ratio and, on the goal row, the verdict.
struct table_row {
  const char* key;
  const char* label;
  long n;
};
struct section {
  const char* title;
  const char* count_label;
  std::vector<table_row> rows;  // rows[0] is the raw baseline
  const char* goal_key;
  std::function<std::string(double ours, double raw, bool goal)> ratio;
  std::function<std::string(double)> value;
};

void print_section(const section& sec, const std::vector<std::string>& placements,
                   std::map<std::string, results>& all) {
  std::printf("%s\n", sec.title);
  std::printf("%-6s %-46s %8s %10s %21s %9s\n", "place", "case", sec.count_label, "median", "[min .. max]", "vs raw");
  for (auto& placement : placements) {
    auto& r = all[placement];
    stats raw = summarize(r[sec.rows.front().key]);
    for (auto& row : sec.rows) {
      stats s = summarize(r[row.key]);
      if (!s.ok) continue;
      std::string ratio = raw.ok && &row != &sec.rows.front()
                              ? sec.ratio(s.median, raw.median, std::strcmp(row.key, sec.goal_key) == 0)
                              : "";
      std::printf("%-6s %-46s %8ld %10s  [%8s .. %8s] %s\n", placement.c_str(), row.label, row.n,
                  sec.value(s.median).c_str(), sec.value(s.min).c_str(), sec.value(s.max).c_str(), ratio.c_str());
    }
  }
  std::printf("\n");
}

std::size_t frame_bytes_of_ping() {
  actorproc::wire::envelope_builder b;
  b.address(1, 2, 3);
  b.init_user<demo::Ping>().setSeq(12345);
  return actorproc::wire::framed_size(b.message());
}
std::size_t frame_bytes_of_pong() {
  actorproc::wire::envelope_builder b;
  b.address(1, 2, 3);
  b.init_response<demo::Pong>().setSeq(12345);
  return actorproc::wire::framed_size(b.message());
}

// The rows of bench/figures.tsv (bench/rows.hpp), from the first placement
// run: scripts/bench.sh runs one, `--placement none`, under taskset when the
// whole run is pinned. d['n'] += 1 under a Lock is shared_bench's figure.
void emit_rows(results& r) {
  struct figure {
    const char *id, *ours, *raw, *unit;
  };
  for (const figure& f : {figure{"rt_direct", "rt.direct", "rt.raw", "us/rt"},
                          figure{"rt_routed", "rt.routed", "rt.raw", "us/rt"},
                          figure{"rt_host", "rt.host", "rt.raw", "us/rt"},
                          figure{"stream_direct", "tp.direct", "tp.raw_batch", "msg/s"},
                          figure{"stream_routed", "tp.routed", "tp.raw_batch", "msg/s"},
                          figure{"host_send", "tp.host", nullptr, "msg/s"}}) {
    bench::emit_row(f.id, "ours", r[f.ours], f.unit);
    if (f.raw) bench::emit_row(f.id, "raw", r[f.raw], f.unit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::take_rows_option(argc, argv);
  actorproc::entry_table actors;
  actors.add<ping>("ping").add<pong>("pong").add<source>("source").add<sink>("sink");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  config cfg = parse(argc, argv);
  auto wall0 = clk::now();
  auto [steal0, busy0] = cpu_times();

  std::printf("actorproc_bench (%s): %d reps per row, %ld CPUs online, placements:", cfg.quick ? "quick" : "full",
              cfg.reps, ::sysconf(_SC_NPROCESSORS_ONLN));
  for (auto& p : cfg.placements) std::printf(" %s", p.c_str());
  std::printf(
      "\n  none = no affinity; same = everything pinned to cpu0 (sched_setaffinity before the node is built)"
      "; diff = senders cpu0, receivers cpu1\n");
  std::printf("  frames: actor Ping request %zu B, Pong reply %zu B (envelope + stream framing); raw messages %d B\n",
              frame_bytes_of_ping(), frame_bytes_of_pong(), RAW_MSG_BYTES);
  std::printf("  each rep = mean over its N round trips / M messages; figures = median of reps [min..max]\n\n");
  std::fflush(stdout);

  std::map<std::string, results> all;
  int failures = 0;
  for (auto& placement : cfg.placements) {
    std::string error;
    if (!run_forked(actors, cfg, placement, all[placement], error)) {
      std::printf("placement %s FAILED: %s\n", placement.c_str(), error.c_str());
      ++failures;
    }
  }

  auto [steal1, busy1] = cpu_times();
  double steal_pct = busy1 > busy0 ? 100.0 * (steal1 - steal0) / (busy1 - busy0) : 0.0;

  if (cfg.round_trip) {
    print_section({"(a)/(b) round trip, us per round trip (lower is better)",
                   "N",
                   {{"rt.raw", "raw C socketpair 64 B, blocking r/w (B1)", cfg.rt_raw},
                    {"rt.direct", "actor ping->pong request, direct (connect)", cfg.rt_direct},
                    {"rt.routed", "actor ping->pong request, routed via node", cfg.rt_routed},
                    {"rt.host", "host actor_handle::request -> pong, one at a time", cfg.rt_host}},
                   "rt.direct",
                   [](double ours, double raw, bool goal) {
                     double x = ours / raw;
                     return fmt("%.2fx", x) +
                            (goal ? (x <= 1.5 ? "  (goal <=1.5x: met)" : "  (goal <=1.5x: MISSED)") : "");
                   },
                   [](double v) { return fmt("%.1f", v); }},
                  cfg.placements, all);
  }
  if (cfg.throughput) {
    print_section({"(c) one-way throughput, messages/s (higher is better)",
                   "M",
                   {{"tp.raw_batch", "raw C 1000 x 64 B per write() (B2 batch_buf)", cfg.tp_raw_batch},
                    {"tp.raw_write1", "raw C one write() per 64 B msg (B2 write1)", cfg.tp_raw_write1},
                    {"tp.direct", "actor source->sink send, direct (connect)", cfg.tp_direct},
                    {"tp.routed", "actor source->sink send, routed via node", cfg.tp_routed},
                    {"tp.host", "node thread handle.send -> sink", cfg.tp_host},
                    {"tp.ceiling_one_cpu", "ceiling: build+validate+read, no IPC, 1 CPU", cfg.tp_direct},
                    {"tp.ceiling_two_cpus", "ceiling: same, sender and receiver in parallel", cfg.tp_direct}},
                   "tp.direct",
                   [](double ours, double raw, bool goal) {
                     double x = 100.0 * ours / raw;
                     return fmt("%.1f%%", x) +
                            (goal ? (x >= 25 ? "  (goal >=25%: met)" : "  (goal >=25%: MISSED)") : "");
                   },
                   human_rate},
                  cfg.placements, all);
  }
  emit_rows(all[cfg.placements.front()]);
  double wall = std::chrono::duration<double>(clk::now() - wall0).count();
  std::printf(
      "wall %.1f s; host steal %.1f%% of busy CPU time during the run (noisy host: compare ratios, not "
      "absolute figures, across runs)\n",
      wall, steal_pct);
  return failures == 0 ? 0 : 1;
}
