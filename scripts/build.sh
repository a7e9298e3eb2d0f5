#!/usr/bin/env bash
# build.sh [BUILD_DIR] [extra cmake args...] - configure and build Tier (deps must be present).
# TIER_BUILD_TARGETS="a b" builds only those targets (default: everything).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
# shellcheck disable=SC2086 # the target list is split on purpose
cmake --build "$build" -j"$(nproc)" ${TIER_BUILD_TARGETS:+--target $TIER_BUILD_TARGETS}
