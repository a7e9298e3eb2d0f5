#!/usr/bin/env bash
# test.sh - installs what is needed, builds, and runs the whole test suite:
#   1. the normal build: unit, integration and vm (real kernel NUMA in QEMU) tests;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build: the unit tests.
# Skipped tests (exit 77) are reported as skipped, and fail the run when TIER_FAIL_ON_SKIP=1.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"

"$top/scripts/build.sh" "$top/build" -DTIER_WERROR=ON
(cd "$top/build" && ctest --output-on-failure --timeout 600 -j2)

"$top/scripts/build.sh" "$top/build-asan" -DTIER_WERROR=ON -DTIER_SANITIZE=address -DTIER_BUILD_BENCH=OFF
(cd "$top/build-asan" &&
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -L unit -j2)
