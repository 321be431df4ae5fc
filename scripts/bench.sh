#!/usr/bin/env bash
# The benchmark suite in one command: one table of every figure, libactorproc
# beside the raw socketpair baseline (where one applies) and Python's
# multiprocessing doing the same work, all measured in this run under the same
# CPU placement.
#
#   scripts/bench.sh [--quick] [--placement none|same] [--build-dir DIR] [--no-build] [--no-install]
#   scripts/bench.sh --build-only [--build-dir DIR]
#
#  1. installs what is missing (scripts/install-deps.sh bench: the build's
#     packages, python3 and gnuplot-nox; unless --no-install);
#  2. builds the benchmark programs in Release into their own build dir
#     (build-bench; no tests, no examples);
#  3. runs every benchmark program that is built, each with --rows (bench/rows.hpp),
#     and says which it skips;
#  4. runs bench/py/mp_baselines.py (Python's side);
#  5. bench/report.py prints the table and writes bench-results.json and
#     bench-ratios.png into the build dir.
# --placement none (the default): no CPU affinity for anyone; the scheduler
# places both sides of every figure. --placement same: the whole run (ours, raw
# and Python) under `taskset -c 0`.
# Benchmarks are never pass/fail: the exit status says only whether the suite ran.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""
placement=none
build=build-bench
do_build=1
do_install=1
build_only=""
usage() {
  echo "usage: $0 [--quick] [--placement none|same] [--build-dir DIR] [--no-build] [--no-install] [--build-only]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=--quick ;;
    --placement)
      [ $# -ge 2 ] || usage
      placement=$2
      shift
      [ "$placement" = none ] || [ "$placement" = same ] || usage
      ;;
    --build-dir)
      [ $# -ge 2 ] || usage
      build=$2
      shift
      ;;
    --no-build) do_build="" ;;
    --no-install) do_install="" ;;
    --build-only) build_only=1 ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
  shift
done

if [ -n "$do_install" ]; then
  scripts/install-deps.sh bench || echo "bench.sh: installing failed; going on with what is there" >&2
fi

if [ -n "$do_build" ]; then
  t0=$SECONDS
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTORPROC_BUILD_TESTS=OFF \
    -DACTORPROC_BUILD_EXAMPLES=OFF -DACTORPROC_BUILD_BENCH=ON "${launcher[@]}" >/dev/null
  # bench/all: every program bench/CMakeLists.txt declares, whichever exist yet.
  cmake --build "$build" -j "$(nproc)" --target bench/all
  echo "== build: $((SECONDS - t0)) s ($build, Release)"
fi
[ -n "$build_only" ] && exit 0

if [ ! -d "$build/bench" ]; then
  echo "bench.sh: $build/bench does not exist: build first (without --no-build)" >&2
  exit 2
fi
# Absolute paths: the programs may change their directory.
build=$(cd "$build" && pwd)
out="$build/bench-run"
rm -rf "$out"
mkdir -p "$out"
rows="$out/rows.tsv"
anchors="$out/anchors.tsv"
context="$out/context.tsv"
: >"$rows"

pin=()
[ "$placement" = same ] && pin=(taskset -c 0)
# Each program gets a bound: a hang costs minutes, not the run.
limit=$([ -n "$quick" ] && echo 120 || echo 300)

# A VM's model name can be as vague as "AMD EPYC": the family and model say which.
cpu_model=$(awk -F': ' '/^model name/ {n = $2} /^cpu family/ {f = $2} /^model\t/ {m = $2}
                        END {printf "%s (family %s, model %s)", n, f, m}' /proc/cpuinfo)
{
  printf 'date\t%s\n' "$(date -Is)"
  printf 'mode\t%s\n' "$([ -n "$quick" ] && echo quick || echo full)"
  printf 'machine\t%s CPUs (nproc), %s\n' "$(nproc)" "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo)"
  printf 'cpu\t%s\n' "${cpu_model:-unknown}"
  printf 'kernel\t%s\n' "$(uname -sr)"
  if command -v python3 >/dev/null; then
    printf 'python\t%s\n' "$(python3 -c 'import sys; print(sys.version.split()[0], sys.executable)')"
  else
    printf 'python\tpython3 missing\n'
  fi
  if [ "$placement" = same ]; then
    printf 'placement\tsame: the whole run (ours, raw and Python) pinned to cpu0 with taskset -c 0\n'
  else
    printf 'placement\tnone: no CPU affinity for anyone (ours, raw and Python); the scheduler places both sides\n'
  fi
  printf 'load_before\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'stat_before\t%s\n' "$(head -1 /proc/stat)"
} >"$context"
t_run=$SECONDS

# The programs, in the order they run; a program another change has not added
# yet is skipped with a line saying so.
programs=(actorproc_bench restart_bench pool_bench queue_bench shared_bench pipe_bench idle_bench payload_bench)
for p in "${programs[@]}"; do
  exe="$build/bench/$p"
  if [ ! -x "$exe" ]; then
    echo "== skip $p: not built (not in this tree)"
    continue
  fi
  args=($quick --rows "$rows")
  # actorproc_bench measures several placements itself: one, as this run's.
  [ "$p" = actorproc_bench ] && args+=(--placement none)
  t0=$SECONDS
  rc=0
  timeout -k 5 "$limit" "${pin[@]}" "$exe" "${args[@]}" >"$out/$p.txt" 2>&1 || rc=$?
  echo "== $p: $((SECONDS - t0)) s$([ $rc -eq 0 ] || echo ", FAILED (rc $rc$([ $rc -eq 124 ] && echo ": timed out after $limit s")): see $out/$p.txt")"
done

python_note=()
if command -v python3 >/dev/null; then
  t0=$SECONDS
  rc=0
  timeout -k 5 "$limit" "${pin[@]}" python3 bench/py/mp_baselines.py $quick >"$anchors" 2>"$out/python.txt" || rc=$?
  echo "== python multiprocessing: $((SECONDS - t0)) s$([ $rc -eq 0 ] || echo ", FAILED (rc $rc): see $out/python.txt")"
  [ $rc -eq 0 ] || python_note=(--python-note "python failed (rc $rc)")
else
  echo "== skip python multiprocessing: python3 missing"
fi

{
  printf 'load_after\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'stat_after\t%s\n' "$(head -1 /proc/stat)"
  printf 'wall\t%s s (the programs and Python; the build excluded)\n' "$((SECONDS - t_run))"
} >>"$context"
echo

if command -v python3 >/dev/null; then
  python3 bench/report.py --figures bench/figures.tsv --rows "$rows" --anchors "$anchors" --context "$context" \
    --json "$build/bench-results.json" --chart "$build/bench-ratios.png" "${python_note[@]}"
else
  # Without python3 there is no report.py: our side alone, as the rows say it.
  sed 's/^\([a-z_]*\)\t/\1: /' "$context" | grep -v '^stat_'
  echo "python3 missing: the Python columns, the ratios' verdicts, the JSON and the chart need it"
  echo
  awk -F'\t' 'BEGIN { printf "%-30s %-8s %-34s %-11s %-7s %s\n", "figure", "unit", "libactorproc median [min..max]",
                       "raw median", "vs raw", "Python" }
    FILENAME == ARGV[1] { if ($1 == "ROW" && $3 == "ours") { o[$2] = sprintf("%.4g [%.4g..%.4g]", $4, $6, $7); om[$2] = $4 }
                          if ($1 == "ROW" && $3 == "raw") rm[$2] = $4; next }
    /^#/ || NF < 6 { next }
    { ratio = "-"  # oriented as report.py does: > 1 means ours is better
      if (($1 in om) && ($1 in rm) && om[$1] > 0 && rm[$1] > 0)
        ratio = sprintf("%.2fx", $4 == "higher" ? om[$1] / rm[$1] : rm[$1] / om[$1])
      printf "%-30s %-8s %-34s %-11s %-7s %s\n", $1, $3, ($1 in o) ? o[$1] : "not run",
             ($1 in rm) ? sprintf("%.4g", rm[$1]) : "-", ratio, ($5 == "-") ? "n/a" : "python3 missing" }' \
    "$rows" bench/figures.tsv
fi
echo "rows: $rows; each program's own table: $out/<program>.txt"
