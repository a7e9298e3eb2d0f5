#!/usr/bin/env bash
# redis-server throughput under redis-benchmark, side by side in one run:
#   plain    - no preload (redis-server with its own jemalloc)
#   tier     - LD_PRELOAD=libtier-preload.so, TIER_PRELOAD='size>=64KiB:tier=cxl'
#   memtier  - LD_PRELOAD=libmemtier.so (memkind 1.14), the nearest equivalent rule: two tiers,
#              DRAM and a file-backed FS_DAX kind on /dev/shm, DYNAMIC_THRESHOLD pinned at
#              64 KiB (allocations >= 64 KiB go to the second tier). KMEM_DAX, memkind's kind
#              for CXL/PMEM nodes, needs a DAX kmem NUMA node; it is tried once and reported.
# Rounds alternate the configurations (plain, tier, memtier, plain, ...) so that load from
# other processes on the machine hits all of them alike; the figure is the median of the
# rounds, and the ratio is median(config) / median(plain).
#
# Usage: redis_ratio.sh path/to/libtier-preload.so [out_dir]
#   ROUNDS (default 5), N (requests per test, default 20000), CLIENTS (default 50)
set -euo pipefail
SHIM=$(readlink -f "$1")
OUT=${2:-$(mktemp -d /tmp/tier-redis-bench.XXXXXX)}
ROUNDS=${ROUNDS:-5}
N=${N:-20000}
CLIENTS=${CLIENTS:-50}
MEMTIER=${MEMTIER:-/usr/lib/x86_64-linux-gnu/libmemtier.so}
mkdir -p "$OUT"
work=$(mktemp -d /tmp/tier-redis-bench-run.XXXXXX)
trap 'rm -rf "$work"' EXIT

memtier_env=(LD_PRELOAD="$MEMTIER"
  MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:/dev/shm,RATIO:1;POLICY:DYNAMIC_THRESHOLD"
  MEMKIND_MEM_THRESHOLDS="INIT_VAL:65536,MIN_VAL:65536,MAX_VAL:65536")
declare -A envs=(
  [plain]="A=1"
  [tier]="LD_PRELOAD=$SHIM TIER_PRELOAD=size>=64KiB:tier=cxl"
)
configs=(plain tier)
if [ -f "$MEMTIER" ]; then
  configs+=(memtier)
  # The KMEM_DAX variant, once: on a machine without a DAX kmem node libmemtier aborts.
  # (In a child shell, so that its "Aborted" lands in the file and not on the terminal.)
  if bash -c 'LD_PRELOAD="$1" MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:KMEM_DAX,RATIO:1;POLICY:DYNAMIC_THRESHOLD" \
      MEMKIND_MEM_THRESHOLDS="INIT_VAL:65536,MIN_VAL:65536,MAX_VAL:65536" /bin/true' _ "$MEMTIER" \
    >"$OUT/memtier-kmem.err" 2>&1; then
    echo "libmemtier KMEM_DAX: works on this machine" >"$OUT/memtier-kmem.txt"
  else
    echo "libmemtier KMEM_DAX: fails: $(head -3 "$OUT/memtier-kmem.err" | tr '\n' ' ')" >"$OUT/memtier-kmem.txt"
  fi
else
  echo "libmemtier.so not found at $MEMTIER: skipped" >"$OUT/memtier-kmem.txt"
fi

# workloads: name and redis-benchmark arguments
workloads=("64KiB|-d 65536 -t set,get" "3B|-d 3 -t set,get,incr,lpush,lpop,sadd,hset")

# One server per configuration and round; prints "config,workload,test,rps" lines.
measure() {
  local config=$1 sock="$work/$1.sock" pid
  if [ "$config" = memtier ]; then
    env "${memtier_env[@]}" redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
      --dir "$work" >"$work/$config.log" 2>&1 &
  else
    # shellcheck disable=SC2086
    env ${envs[$config]} redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
      --dir "$work" >"$work/$config.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { echo "redis-server ($config) did not start: $(cat "$work/$config.log")" >&2; exit 1; }
  for w in "${workloads[@]}"; do
    local name=${w%%|*} args=${w#*|}
    # shellcheck disable=SC2086
    redis-benchmark -s "$sock" -n "$N" -c "$CLIENTS" $args --csv 2>/dev/null |
      awk -F'","' -v c="$config" -v w="$name" 'NR > 1 { gsub(/"/, "", $1); gsub(/"/, "", $2); print c "," w "," $1 "," $2 }'
  done
  redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || true
}

: >"$OUT/raw.csv"
for r in $(seq 1 "$ROUNDS"); do
  for c in "${configs[@]}"; do
    measure "$c" | sed "s/^/$r,/" >>"$OUT/raw.csv"
  done
done

# Medians and ratios.
python3 - "$OUT/raw.csv" "${configs[@]}" >"$OUT/summary.md" <<'PY'
import collections, statistics, sys
path, configs = sys.argv[1], sys.argv[2:]
runs = collections.defaultdict(list)
order = []
for line in open(path):
    r, c, w, t, rps = line.strip().split(",", 4)
    key = (w, t)
    if key not in order:
        order.append(key)
    runs[(c, w, t)].append(float(rps))
head = "| values | test | " + " | ".join(f"{c} req/s" for c in configs)
head += " | " + " | ".join(f"{c}/plain" for c in configs if c != "plain") + " |"
print(head)
print("|" + "---|" * (2 + len(configs) + len(configs) - 1))
for w, t in order:
    med = {c: statistics.median(runs[(c, w, t)]) for c in configs if runs[(c, w, t)]}
    cells = [f"{med.get(c, float('nan')):,.0f}" for c in configs]
    ratios = [f"{med[c] / med['plain']:.3f}" if c in med else "n/a" for c in configs if c != "plain"]
    print(f"| {w} | {t} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
PY
cat "$OUT/summary.md"
cat "$OUT/memtier-kmem.txt"
echo "rounds $ROUNDS, -n $N, -c $CLIENTS; raw figures in $OUT/raw.csv"
