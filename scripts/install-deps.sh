#!/usr/bin/env bash
# Installs the Debian 12 packages libactorproc needs, only those missing.
# Run as root (or with sudo available). Idempotent and quick when all is there.
#   scripts/install-deps.sh          what building and testing need
#   scripts/install-deps.sh bench    also what scripts/bench.sh needs besides: python3 (the
#                                    Python side of the table) and gnuplot-nox (its chart).
#                                    The tests never need them.
set -euo pipefail

packages=(g++ cmake ninja-build pkgconf libcaf-dev libcapnp-dev capnproto libboost-test-dev
          libbenchmark-dev libssl-dev clang-14 libclang-rt-14-dev lld)
case "${1:-}" in
  "") ;;
  bench)
    # A python3 on PATH that is not Debian's (pyenv, a venv) serves as well.
    command -v python3 >/dev/null || packages+=(python3)
    packages+=(gnuplot-nox)
    ;;
  *) echo "usage: $0 [bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
