#!/usr/bin/env bash
# The README's first command: install what is missing, build, run the demo topology.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build --target supervision_tree ping_pong counter pipe
./build/examples/supervision_tree
