#!/usr/bin/env bash
# redis-server, unmodified, under the shim, driven by its own redis-benchmark (the default
# suite, then 64 KiB values) and checked with redis-cli: the same tests run without errors,
# and the dataset is identical (DEBUG DIGEST, DBSIZE, big values read back byte for byte) to
# a run without the shim. Values of 64 KiB and more must have been placed on CXL.
# A unix socket in a temporary directory: no port to collide with.
# Usage: redis.sh libtier-preload.so
SHIM=$1
. "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "redis-server/redis-benchmark missing (scripts/deps.sh installs them)"
  exit 77
}
N=${TIER_TEST_REDIS_N:-1000}
head -c $((3 << 20)) /dev/urandom >"$tmp/big1"
head -c $((5 << 20)) /dev/urandom >"$tmp/big2"

# run <tag> [env assignments...]: a server, the benchmarks, the checks, a clean shutdown.
run() {
  local tag=$1
  shift
  local sock="$tmp/$tag.sock" cli
  env "$@" redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
    --enable-debug-command yes --dir "$tmp" >"$tmp/log.$tag" 2>"$tmp/err.$tag" &
  local pid=$!
  cleanup_hooks+=("kill $pid 2>/dev/null")
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || fail "redis-server ($tag) did not start: $(cat "$tmp/log.$tag" "$tmp/err.$tag")"
  cli="redis-cli -s $sock"
  redis-benchmark -s "$sock" -n "$N" -q >"$tmp/bench.$tag" 2>&1 || fail "redis-benchmark ($tag) failed"
  redis-benchmark -s "$sock" -n $((N / 4)) -d 65536 -t set,get,lpush,lpop,mset -q \
    >>"$tmp/bench.$tag" 2>&1 || fail "redis-benchmark -d 65536 ($tag) failed"
  $cli -x set big1 <"$tmp/big1" >/dev/null
  $cli -x set big2 <"$tmp/big2" >/dev/null
  $cli --no-raw get big1 >/dev/null
  {
    # Which tests ran (figures stripped: they differ from run to run).
    tr '\r' '\n' <"$tmp/bench.$tag" | grep 'requests per second' | grep -v 'rps=' | sed 's/:.*//'
    echo "dbsize $($cli dbsize)"
    echo "digest $($cli debug digest)"
    echo "counter $($cli get counter:__rand_int__)"
    echo "mylist $($cli llen mylist)"
    echo "big1 $($cli --raw getrange big1 0 -1 | head -c $((3 << 20)) | sha256sum | cut -c1-16)"
    echo "big2 $($cli strlen big2) $($cli --raw get big2 | head -c $((5 << 20)) | sha256sum | cut -c1-16)"
  } >"$tmp/state.$tag"
  grep -qi 'error' "$tmp/bench.$tag" && fail "redis-benchmark ($tag) reported errors: $(grep -i error "$tmp/bench.$tag")"
  $cli shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || fail "redis-server ($tag) exited $?: $(tail -5 "$tmp/log.$tag") $(cat "$tmp/err.$tag")"
}

run plain A=1
run shim LD_PRELOAD="$SHIM" TIER_TOPOLOGY=default TIER_PRELOAD='size>=64KiB:tier=cxl' TIER_PRELOAD_REPORT=1
echo "plain:"
cat "$tmp/state.plain"
diff "$tmp/state.plain" "$tmp/state.shim" >&2 || fail "redis state differs under the shim"
[ "$(sha256sum <"$tmp/big1" | cut -c1-16)" = "$(sed -n 's/^big1 //p' "$tmp/state.shim")" ] ||
  fail "big1 read back differs from what was written"
blocks=$(rule_field "$tmp/err.shim" 1 1)
cxl=$(placed_on "$tmp/err.shim" cxl)
# At least the 64 KiB values of SET and LPUSH, and the two big values.
[ "$blocks" -ge $((N / 4)) ] || fail "rule placed only $blocks blocks"
[ "$cxl" -ge $(((N / 4) * 65536 + (8 << 20))) ] || fail "cxl got only $cxl bytes"
[ "$(placed_on "$tmp/err.shim" dram)" = 0 ] || fail "dram got bytes under size>=64KiB:tier=cxl"
# The 64 KiB values live in the cxl placement's small arena: its granules are registered.
grep -Eq 'registered regions: [0-9]+ large blocks live, [1-9][0-9]* small-arena granules' "$tmp/err.shim" ||
  fail "no small-arena granule registered: $(grep 'registered regions' "$tmp/err.shim")"
echo "ok: redis state identical under the shim; $blocks blocks, $cxl bytes placed on cxl"
cat "$tmp/err.shim"
