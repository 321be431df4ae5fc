// idle_bench: how many idle actors one node runs, and what each costs the node.
//
//   ./build/bench/idle_bench            # N = as many as the descriptor limit allows (~30-60 s for 10,000)
//   ./build/bench/idle_bench --quick    # N = 200, three repetitions (a few seconds)
//   options: --actors N, --reps R, --rows FILE
//
// Each repetition runs in a process of its own (forked from main() while it
// has no thread), which builds a node, spawns one actor to warm the node up
// (CAF's scheduler, the reactor, the allocator's arenas), reads the node's own
// Private_Dirty from /proc/self/smaps_rollup, spawns N idle actors, and reads
// it again: the difference over N is the node's private memory per idle actor
// (the workers' own memory is theirs, not the node's). The spawns stop at the
// first failure, whose error is printed: with N at the descriptor budget, the
// number that ran is the idle_actors_max row.
//
// Rows: idle_actor_node_kib (KiB per actor, every repetition) and, in the full
// run, idle_actors_max (actors running at once).

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include "rows.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;

struct idle {
  using handles = actorproc::handles<demo::Ping>;
  void on(demo::Ping::Reader) {}
};

// The node's Private_Dirty, in KiB.
double private_dirty_kib() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string key;
  double kib = 0;
  while (in >> key) {
    if (key == "Private_Dirty:") {
      in >> kib;
      return kib;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

// Actors the descriptor limit leaves room for: the node raises its soft limit
// to the hard one, each actor holds 2 descriptors in it, and a spawn needs a
// third for a moment; a margin stays for the node's own.
long descriptor_budget() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max == RLIM_INFINITY) return 10000;
  return (static_cast<long>(limit.rlim_max) - 64) / 2;
}

struct result {
  long ran = 0;
  double kib_per_actor = 0;
  double seconds = 0;
  std::string failure;
};

result run_once(const actorproc::entry_table& actors, long n) {
  result r;
  actorproc::node node{actors};
  std::vector<actorproc::actor_handle> handles;
  handles.reserve(static_cast<std::size_t>(n) + 1);
  if (auto warm = node.spawn("idle")) handles.push_back(*warm);
  double before = private_dirty_kib();
  auto t0 = clk::now();
  for (long i = 0; i < n; ++i) {
    auto a = node.spawn("idle");
    if (!a) {
      r.failure = to_string(a.error());
      break;
    }
    handles.push_back(*a);
  }
  r.seconds = std::chrono::duration<double>(clk::now() - t0).count();
  r.ran = static_cast<long>(handles.size()) - 1;
  if (r.ran > 0) r.kib_per_actor = (private_dirty_kib() - before) / static_cast<double>(r.ran);
  return r;  // the node stops every actor here
}

// One repetition in a fresh process: "ran kib seconds" then the failure, on a pipe.
bool run_forked(const actorproc::entry_table& actors, long n, result& out) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::close(fds[0]);
    result r = run_once(actors, n);
    FILE* f = ::fdopen(fds[1], "w");
    std::fprintf(f, "%ld %.6f %.6f %s\n", r.ran, r.kib_per_actor, r.seconds, r.failure.c_str());
    std::fclose(f);
    ::_exit(0);
  }
  ::close(fds[1]);
  FILE* f = ::fdopen(fds[0], "r");
  char line[4096] = {};
  bool ok = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!ok) return false;
  int used = 0;
  if (std::sscanf(line, "%ld %lf %lf %n", &out.ran, &out.kib_per_actor, &out.seconds, &used) < 3) return false;
  out.failure = line + used;
  if (!out.failure.empty() && out.failure.back() == '\n') out.failure.pop_back();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<idle>("idle");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
  bench::take_rows_option(argc, argv);

  bool quick = false;
  long n = 0;
  int reps = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--actors") == 0 && i + 1 < argc) {
      n = std::atol(argv[++i]);
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--actors N] [--reps R] [--rows FILE]\n", argv[0]);
      return 2;
    }
  }
  if (n <= 0) n = quick ? 200 : descriptor_budget();
  if (reps <= 0) reps = quick ? 3 : 1;

  std::printf("idle_bench (%s): %ld idle actors per repetition, %d repetition(s)\n", quick ? "quick" : "full", n,
              reps);
  std::vector<double> kib;
  long most = 0;
  for (int r = 0; r < reps; ++r) {
    result res;
    if (!run_forked(actors, n, res)) {
      std::printf("repetition %d FAILED (the measuring process died)\n", r + 1);
      return 1;
    }
    std::printf("  ran %ld actors in %.1f s: node private memory %.1f KiB per actor%s%s\n", res.ran, res.seconds,
                res.kib_per_actor, res.failure.empty() ? "" : "; stopped by: ", res.failure.c_str());
    if (res.ran > 0) kib.push_back(res.kib_per_actor);
    most = std::max(most, res.ran);
  }
  auto s = bench::summarize(kib);
  std::printf("node private memory per idle actor: %.1f KiB [%.1f .. %.1f] (target <= 10)\n", s.median, s.min, s.max);
  bench::emit_row("idle_actor_node_kib", "ours", kib, "KiB");
  if (!quick) {
    std::printf("idle actors on one node: %ld (descriptor budget %ld)\n", most, descriptor_budget());
    bench::emit_row("idle_actors_max", "ours", std::vector<double>{static_cast<double>(most)}, "actors");
  }
  return 0;
}
