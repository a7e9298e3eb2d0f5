#!/usr/bin/env bash
# test.sh - installs what is needed, builds, and runs the whole test suite in three stages:
#   1. normal build (everything): unit, integration and vm (real kernel NUMA in QEMU) tests;
#   2. AddressSanitizer + UndefinedBehaviorSanitizer (build-asan): the unit tests and tierd's
#      integration tests (tierd, tierctl and client processes all instrumented); builds only
#      their targets (`unit_tests`, `daemon_tests`);
#   3. ThreadSanitizer (build-tsan): the tests labelled `concurrency` (heat counters, the
#      in-process agent, the allocator under threads, the tierd link's reconnect thread, tierd
#      with clients; tests/CMakeLists.txt lists them); builds only `concurrency_tests`.
# Sanitizer reports fail the test (halt_on_error). tests/tsan.supp holds ThreadSanitizer
# suppressions, for third-party code only, each with its reason.
# Skipped tests (exit 77) are reported as skipped, and fail the run when TIER_FAIL_ON_SKIP=1
# (CI sets it: there, every prerequisite is installed, so a skip means something is broken).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"

# run_ctest DIR [ctest args...]: runs CTest in DIR, keeps its output in DIR/ctest.log.
run_ctest() {
  local dir=$1
  shift
  local rc=0
  (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$dir/ctest.log" || rc=$?
  [ "$rc" -eq 0 ] || return "$rc"
  if grep -q '\*\*\*Skipped\|The following tests did not run' "$dir/ctest.log"; then
    if [ "${TIER_FAIL_ON_SKIP:-0}" = 1 ]; then
      echo "test.sh: tests were skipped and TIER_FAIL_ON_SKIP=1" >&2
      return 1
    fi
    echo "test.sh: some tests were skipped (see above)" >&2
  fi
}

# 1. Normal build. TIER_BUILD_PYTHON=ON: deps.sh installed pybind11 and Python's headers, so a
# Python package that cannot be built is an error here, not a silent omission.
"$top/scripts/build.sh" "$top/build" -DTIER_WERROR=ON -DTIER_BUILD_PYTHON=ON
run_ctest "$top/build" --timeout 600 -j2

# 2. ASan + UBSan.
TIER_BUILD_TARGETS="unit_tests daemon_tests" "$top/scripts/build.sh" "$top/build-asan" \
  -DTIER_WERROR=ON -DTIER_SANITIZE=address -DTIER_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest "$top/build-asan" -L '^(unit|daemon)$' -j2

# 3. TSan.
TIER_BUILD_TARGETS=concurrency_tests "$top/scripts/build.sh" "$top/build-tsan" \
  -DTIER_WERROR=ON -DTIER_SANITIZE=thread -DTIER_BUILD_BENCH=OFF
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$top/tests/tsan.supp" \
  run_ctest "$top/build-tsan" -L concurrency -j2
