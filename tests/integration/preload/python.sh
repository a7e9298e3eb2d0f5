#!/usr/bin/env bash
# python3 running objects.py (large bytes, bytearray growth, lists, dicts, arrays, strings)
# with and without the shim: identical output, and its big objects on the rule's tier.
# Usage: python.sh libtier-preload.so python3 objects.py
SHIM=$1
PY=$2
SCRIPT=$3
. "$(dirname "$0")/lib.sh"

"$PY" "$SCRIPT" >"$tmp/out.plain" || fail "objects.py failed without the shim"
with_shim cxl 'size>=1MiB:tier=cxl;size>=64KiB:interleave=dram:3,cxl:1' "$PY" "$SCRIPT"
diff "$tmp/out.plain" "$tmp/out.cxl" >&2 || fail "objects.py output differs under the shim"
blocks=$(rule_field "$tmp/err.cxl" 1 1)
bytes=$(rule_field "$tmp/err.cxl" 1 2)
cxl=$(placed_on "$tmp/err.cxl" cxl)
dram=$(placed_on "$tmp/err.cxl" dram)
# objects.py makes 8 blobs of 4 MiB, 6 bytearrays of 5 MiB and grows one to 16 MiB: at least
# 32 + 30 + 16 MiB through rule 1.
[ "$bytes" -ge $((78 << 20)) ] || fail "rule 1 placed only $bytes bytes in $blocks blocks"
[ "$cxl" -ge "$bytes" ] || fail "cxl got $cxl bytes, less than rule 1's $bytes"
[ "$(placed_on "$tmp/err.cxl" hbm)" = 0 ] || fail "hbm got bytes"
[ "$dram" -gt 0 ] || fail "the 64KiB..1MiB interleave placed nothing on dram"
# Again with the in-process agent running epochs, and a rule that also matches the agent's own
# bookkeeping sizes: its thread inherits the shim's guard (no self-deadlock, nothing of libtier's
# placed), and migrations must not change a single byte.
env LD_PRELOAD="$SHIM" TIER_TOPOLOGY=default TIER_PRELOAD='size>=256:tier=cxl' TIER_PRELOAD_AGENT=1 \
  TIER_PRELOAD_REPORT=1 "$PY" "$SCRIPT" >"$tmp/out.agent" 2>"$tmp/err.agent" ||
  fail "objects.py failed with the agent: $(cat "$tmp/err.agent")"
diff "$tmp/out.plain" "$tmp/out.agent" >&2 || fail "objects.py output differs with the agent"
grep -q 'small-arena granules' "$tmp/err.agent" || fail "no report with the agent"
grep -Eq 'agent running, [1-9][0-9]* epochs' "$tmp/err.agent" ||
  fail "the agent ran no epoch: $(grep 'agent' "$tmp/err.agent")"
grep 'report: runtime:' "$tmp/err.agent"
# Hot memory moves up: with fault sampling and the agent, a buffer placed on cxl and touched
# all the time is promoted (its contents unchanged).
HOT=$(dirname "$SCRIPT")/hot.py
env LD_PRELOAD="$SHIM" TIER_TOPOLOGY=default TIER_PRELOAD='size>=1MiB:tier=cxl' TIER_PRELOAD_AGENT=1 \
  TIER_PRELOAD_SAMPLE=1 TIER_PRELOAD_REPORT=1 "$PY" "$HOT" >"$tmp/out.hot" 2>"$tmp/err.hot" ||
  fail "hot.py failed: $(cat "$tmp/err.hot")"
[ "$(cat "$tmp/out.hot")" = "consistent True" ] || fail "hot.py saw changed data: $(cat "$tmp/out.hot")"
grep -Eq 'agent running, [0-9]+ epochs, [1-9][0-9]* promotions' "$tmp/err.hot" ||
  fail "the hot buffer was not promoted: $(grep 'report: runtime' "$tmp/err.hot")"
grep 'report: runtime:' "$tmp/err.hot"
echo "ok: python3 output identical; rule 1 placed $bytes bytes in $blocks blocks; cxl $cxl, dram $dram"
cat "$tmp/err.cxl"
