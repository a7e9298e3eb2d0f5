# lib.sh - helpers shared by the shim's integration scripts (sourced, not run).
# Usage in a script: SHIM=path/to/libtier-preload.so; . lib.sh
set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A fresh temporary directory, removed on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tier-preload-test.XXXXXX")
cleanup_hooks=()
cleanup() {
  for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Field `placed` (bytes) of the report line of the node of kind $2 in report file $1.
placed_on() {
  sed -n "s/.* ($2) tier [0-9]*: placed \([0-9]*\) bytes.*/\1/p" "$1" | head -n 1
}
# "registered regions resident here N bytes" of the node of kind $2.
resident_on() {
  sed -n "s/.* ($2) tier [0-9]*: .*resident here \([0-9]*\) bytes.*/\1/p" "$1" | head -n 1
}
# Blocks, bytes and fallbacks of rule number $2.
rule_field() {
  sed -n "s/.*report: rule $2 .*: placed \([0-9]*\) blocks, \([0-9]*\) bytes; \([0-9]*\) fell back.*/\\$3/p" "$1" | head -n 1
}

# Runs the program with the shim and the given rules; stdout to $tmp/out.<tag>, stderr (the
# report) to $tmp/err.<tag>.
with_shim() {
  local tag=$1 rules=$2
  shift 2
  env LD_PRELOAD="$SHIM" TIER_TOPOLOGY=default TIER_PRELOAD="$rules" TIER_PRELOAD_REPORT=1 \
    "$@" >"$tmp/out.$tag" 2>"$tmp/err.$tag" || fail "$* under the shim ($rules) exited $?: $(cat "$tmp/err.$tag")"
}
