#!/usr/bin/env bash
# The README's second command (and what CI runs): install what is missing, then
#  1. build and run the whole suite through ctest;
#  2. fuzz the frame decoder for a short, bounded time (clang's libFuzzer);
#  3. build and run the suites again (not the examples) under AddressSanitizer +
#     UndefinedBehaviorSanitizer;
#  4. build and run the host-side suites (label `process`: node, supervision,
#     patterns, pool) under ThreadSanitizer.
# Each stage prints how long it took: CI has 2 cores and 15 minutes for all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
# -g1 (line tables only) in every build: sanitizer reports and backtraces keep
# file:line, and CI's 2 cores spend less of their time writing debug info.
# The ASan build is -O0: it compiles in less than half the time of -O1 (the
# test files dominate CI's time), while its tests run in about a minute.
# The TSan build is -O1, as TSan's documentation advises: at -O0 its tests run
# too slowly for the suites' bounded waits.

# Every build compiles each library component as one unity TU (CMakeLists.txt,
# ACTORPROC_UNITY_BUILD) and links with lld: GNU ld took 55 s of CPU for the
# ASan build's 20 programs, lld 24 s.
fast_build=(-DACTORPROC_UNITY_BUILD=ON -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld)

stage_start=$SECONDS
stage() {
  [ -n "${stage_name:-}" ] && echo "== ${stage_name}: $((SECONDS - stage_start)) s"
  stage_name=$1
  stage_start=$SECONDS
  [ -n "$stage_name" ] && echo "== $stage_name"
  return 0
}

# The benchmark programs are not tests: scripts/bench.sh builds them (in
# Release, in build-bench); here they would cost CI about 35 s on 2 cores.
# The library is built -O2, as users get it; the tests and examples -O1: about
# 60% of a test file's compile time was optimization of code no one times.
stage "build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTORPROC_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DACTORPROC_TEST_CXX_FLAGS=-O1 "${fast_build[@]}" >/dev/null
cmake --build build -j "$jobs"
stage "test (RelWithDebInfo)"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

if [ -z "${ACTORPROC_SKIP_FUZZ:-}" ] && [ -f tests/fuzz/CMakeLists.txt ]; then
  stage "fuzz the frame decoder (bounded)"
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DACTORPROC_FUZZ=ON -DACTORPROC_BUILD_TESTS=OFF \
    -DACTORPROC_BUILD_EXAMPLES=OFF -DACTORPROC_BUILD_BENCH=OFF "${fast_build[@]}" >/dev/null
  cmake --build build-fuzz -j "$jobs" --target frame_decoder_fuzz
  mkdir -p build-fuzz/corpus
  ./build-fuzz/tests/fuzz/frame_decoder_fuzz -max_total_time=30 -print_final_stats=1 build-fuzz/corpus tests/fuzz/corpus
fi

# The examples run in stage 1; under the sanitizers they would add 14
# programs to compile (about a minute on 2 cores) for library paths that the
# suites already run.
stage "build under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DACTORPROC_SANITIZE=ON \
  -DACTORPROC_BUILD_BENCH=OFF -DACTORPROC_BUILD_EXAMPLES=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" "${fast_build[@]}" >/dev/null
cmake --build build-asan -j "$jobs"
stage "test under ASan + UBSan"
ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900

# Only the host side has threads, so only its suites (the host_tests target: the
# `process` label) are worth TSan's time.
# tests/tsan.supp says what is suppressed (third-party code only) and why.
stage "build under ThreadSanitizer"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DACTORPROC_SANITIZE_THREAD=ON \
  -DACTORPROC_BUILD_BENCH=OFF -DACTORPROC_BUILD_EXAMPLES=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" "${fast_build[@]}" >/dev/null
cmake --build build-tsan -j "$jobs" --target host_tests
stage "test the host side under ThreadSanitizer"
ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 900 -L process
stage ""
echo "== all stages passed in $SECONDS s"
