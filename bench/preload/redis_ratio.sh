#!/usr/bin/env bash
# redis-server throughput under redis-benchmark, side by side in one run:
#   plain    - no preload (redis-server with its own jemalloc)
#   tier     - LD_PRELOAD=libtier-preload.so, TIER_PRELOAD='size>=64KiB:tier=cxl'
#   memtier  - LD_PRELOAD=libmemtier.so (memkind 1.14), the nearest equivalent rule: two tiers,
#              DRAM and a file-backed FS_DAX kind on /dev/shm, DYNAMIC_THRESHOLD pinned at
#              64 KiB (allocations >= 64 KiB go to the second tier). KMEM_DAX, memkind's kind
#              for CXL/PMEM nodes, needs a DAX kmem NUMA node; it is tried once and reported.
# One server per configuration runs for the whole measurement; each round runs every test on
# every server back to back, in a rotating order, so that load from other processes on the
# machine hits all of them alike. A ratio is the median over rounds of the per-round ratio. Besides throughput, the server's
# CPU time per request (/proc/PID/task/*/schedstat) is measured around each test: on a machine
# shared with other work it is the steadier figure of what the allocator costs redis.
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
      MEMKIND_MEM_THRESHOLDS="INIT_VAL:65536,MIN_VAL:65536,MAX_VAL:65536" /bin/true; exit $?' _ "$MEMTIER" \
    >"$OUT/memtier-kmem.err" 2>&1; then
    echo "libmemtier KMEM_DAX: works on this machine" >"$OUT/memtier-kmem.txt"
  else
    echo "libmemtier KMEM_DAX: fails: $(head -3 "$OUT/memtier-kmem.err" | tr '\n' ' ')" >"$OUT/memtier-kmem.txt"
  fi
else
  echo "libmemtier.so not found at $MEMTIER: skipped" >"$OUT/memtier-kmem.txt"
fi

# workloads: name, redis-benchmark arguments, tests (each run and measured on its own)
workloads=("64KiB|-d 65536|set get" "3B|-d 3|set get incr lpush lpop sadd hset")

# CPU time the server has used, in ns, over all its threads (schedstat: time on a CPU).
server_cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%d", t }'
}

# One server per configuration for the whole run. Each round runs every test on every server
# back to back, the configurations in a rotating order, so the runs a ratio compares are
# seconds apart and see the same load from the rest of the machine.
declare -A pids
start_server() {
  local config=$1 sock="$work/$1.sock"
  if [ "$config" = memtier ]; then
    env "${memtier_env[@]}" redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
      --dir "$work" >"$work/$config.log" 2>&1 &
  else
    # shellcheck disable=SC2086
    env ${envs[$config]} redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
      --dir "$work" >"$work/$config.log" 2>&1 &
  fi
  pids[$config]=$!
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { echo "redis-server ($config) did not start: $(cat "$work/$config.log")" >&2; exit 1; }
}
stop_servers() {
  for c in "${!pids[@]}"; do
    redis-cli -s "$work/$c.sock" shutdown nosave >/dev/null 2>&1 || true
    wait "${pids[$c]}" 2>/dev/null || true
  done
}
trap 'stop_servers; rm -rf "$work"' EXIT

# Prints "config,workload,test,rps,server_cpu_ns_per_request" for one test on one server.
measure() {
  local config=$1 name=$2 args=$3 t=$4 pid=${pids[$1]} before after rps
  before=$(server_cpu_ns "$pid")
  # shellcheck disable=SC2086
  rps=$(redis-benchmark -s "$work/$config.sock" -n "$N" -c "$CLIENTS" $args -t "$t" --csv 2>/dev/null |
    awk -F'","' 'NR == 2 { gsub(/"/, "", $2); print $2 }')
  after=$(server_cpu_ns "$pid")
  echo "$config,$name,${t^^},$rps,$(((after - before) / N))"
}

for c in "${configs[@]}"; do start_server "$c"; done
: >"$OUT/raw.csv"
for r in $(seq 1 "$ROUNDS"); do
  for w in "${workloads[@]}"; do
    name=${w%%|*} rest=${w#*|}
    args=${rest%%|*} tests=${rest#*|}
    for t in $tests; do
      n=${#configs[@]}
      for i in $(seq 0 $((n - 1))); do
        c=${configs[$(((i + r) % n))]}
        measure "$c" "$name" "$args" "$t" | sed "s/^/$r,/" >>"$OUT/raw.csv"
      done
    done
  done
done
stop_servers
pids=()

# Medians and ratios: throughput (wall clock: sensitive to other load on the machine) and the
# server's CPU time per request (what the allocator costs the server; robust to that load).
python3 - "$OUT/raw.csv" "${configs[@]}" >"$OUT/summary.md" <<'PY'
import collections, statistics, sys
path, configs = sys.argv[1], sys.argv[2:]
others = [c for c in configs if c != "plain"]
rps, cpu = collections.defaultdict(dict), collections.defaultdict(dict)
order = []
for line in open(path):
    r, c, w, t, v, ns = line.strip().split(",")
    if (w, t) not in order:
        order.append((w, t))
    if v and float(v) > 0:
        rps[(w, t)].setdefault(c, {})[r] = float(v)
    if ns and float(ns) > 0:
        cpu[(w, t)].setdefault(c, {})[r] = float(ns)

def paired(table, c, invert=False):
    """Median and quartiles of the per-round ratio config/plain (rounds run back to back)."""
    base = table.get("plain", {})
    mine = table.get(c, {})
    rs = sorted((base[r] / mine[r]) if invert else (mine[r] / base[r])
                for r in base if r in mine)
    if not rs:
        return "n/a"
    q = statistics.quantiles(rs, n=4, method="inclusive") if len(rs) > 1 else [rs[0]] * 3
    return f"{statistics.median(rs):.3f} ({q[0]:.2f}-{q[2]:.2f})"

print("| values | test | " + " | ".join(f"{c} req/s" for c in configs) + " | "
      + " | ".join(f"{c}/plain req/s" for c in others) + " | "
      + " | ".join(f"{c} server CPU us/req" for c in configs) + " | "
      + " | ".join(f"{c}/plain at equal CPU" for c in others) + " |")
print("|---|---|" + "---:|" * (2 * len(configs) + 2 * len(others)))
for w, t in order:
    mr = {c: statistics.median(v.values()) for c, v in rps[(w, t)].items()}
    mc = {c: statistics.median(v.values()) for c, v in cpu[(w, t)].items()}
    cells = [f"{mr[c]:,.0f}" if c in mr else "n/a" for c in configs]
    ratio = [paired(rps[(w, t)], c) for c in others]
    cpus = [f"{mc[c] / 1000:.2f}" if c in mc else "n/a" for c in configs]
    eff = [paired(cpu[(w, t)], c, invert=True) for c in others]
    print(f"| {w} | {t} | " + " | ".join(cells + ratio + cpus + eff) + " |")
print()
print("Ratios: median over rounds of the per-round ratio (each round runs a test on every "
      "server back to back), with the quartiles in brackets. 'At equal CPU' is plain's server CPU "
      "time per request divided by the configuration's.")
PY
cat "$OUT/summary.md"
cat "$OUT/memtier-kmem.txt"
echo "rounds $ROUNDS, -n $N, -c $CLIENTS; raw figures in $OUT/raw.csv"
