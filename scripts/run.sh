#!/usr/bin/env bash
# run.sh - installs what is needed, builds, and runs the main job: tierd on the built-in
# emulated topology (preset `default`: HBM, DRAM, CXL and a CXL pool as virtual nodes) with the
# LLM serving demo as its client — the Mooncake conversation trace through the KV-cache block
# pool and a MoE layer stack on real memory. While it runs, `tierctl status` shows the tiers as
# tierd sees them; at the end the demo prints its table (hit ratio, modelled memory time,
# bytes migrated, occupancy). Options after `--` go to the demo (e.g. `-- --seconds 60`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh" "$top/build"
bin="$top/build"
[ "${1:-}" = "--" ] && shift

echo
"$bin/daemon/tierctl" --topology default nodes
echo

work=$(mktemp -d /tmp/tier-run.XXXXXX)
sock="$work/tierd.sock"
"$bin/daemon/tierd" --socket "$sock" --topology preset:default >"$work/tierd.log" 2>&1 &
tierd_pid=$!
cleanup() {
  kill "$tierd_pid" 2>/dev/null && wait "$tierd_pid" 2>/dev/null
  echo "--- tierd log ($work/tierd.log), last lines:"
  tail -n 5 "$work/tierd.log"
}
trap cleanup EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "tierd did not start:"; cat "$work/tierd.log"; exit 1; }

# The demo connects to tierd (TIER_DAEMON=required: fail rather than run alone).
TIER_DAEMON=required TIER_DAEMON_SOCKET="$sock" TIER_TOPOLOGY=default \
  "$bin/examples/serve_demo/tier-serve-demo" --quiet "$@" &
demo_pid=$!
while kill -0 "$demo_pid" 2>/dev/null; do
  sleep 5
  kill -0 "$demo_pid" 2>/dev/null || break
  echo "--- tierctl status ($(date +%T))"
  "$bin/daemon/tierctl" --socket "$sock" status || true
  "$bin/daemon/tierctl" --socket "$sock" clients || true
done
wait "$demo_pid"
