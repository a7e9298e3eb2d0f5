#!/usr/bin/env bash
# run.sh - installs what is needed, builds, and runs the main job: the tier report of this
# machine (the built-in `default` emulated topology when it has a single NUMA node) and the
# allocation demo, which places buffers by policy and shows where their pages are.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh" "$top/build"
echo
"$top/build/daemon/tierctl" nodes
echo
"$top/build/examples/tier-alloc-demo"
