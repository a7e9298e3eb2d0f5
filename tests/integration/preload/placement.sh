#!/usr/bin/env bash
# Placement under the shim, checked against the exit report (the runtime's per-node figures and
# tier_where over the registered regions): the probe program's blocks of 1 MiB and more land on
# the tier a rule names, a 3:1 interleave splits them 3:1, nothing else moves; a bad rule is
# reported once with its position and the program runs untouched; rules from a file.
# Usage: placement.sh libtier-preload.so probe
SHIM=$1
PROBE=$2
. "$(dirname "$0")/lib.sh"

"$PROBE" >"$tmp/out.plain" || fail "probe failed without the shim"
big_bytes=$(sed -n 's/^big_bytes //p' "$tmp/out.plain")
big_blocks=$(sed -n 's/^big_blocks //p' "$tmp/out.plain")
live_registered=$(sed -n 's/^live_registered_bytes //p' "$tmp/out.plain")

# 1. Everything of 1 MiB and more on CXL.
with_shim cxl 'size>=1MiB:tier=cxl' "$PROBE"
cmp -s "$tmp/out.plain" "$tmp/out.cxl" || fail "probe output differs under the shim"
[ "$(rule_field "$tmp/err.cxl" 1 1)" = "$big_blocks" ] || fail "rule 1 placed $(rule_field "$tmp/err.cxl" 1 1) blocks, expected $big_blocks"
[ "$(rule_field "$tmp/err.cxl" 1 2)" = "$big_bytes" ] || fail "rule 1 placed $(rule_field "$tmp/err.cxl" 1 2) bytes, expected $big_bytes"
[ "$(rule_field "$tmp/err.cxl" 1 3)" = 0 ] || fail "rule 1 fell back"
[ "$(placed_on "$tmp/err.cxl" cxl)" = "$big_bytes" ] || fail "cxl got $(placed_on "$tmp/err.cxl" cxl) bytes, expected $big_bytes"
for k in hbm dram cxl-pool; do
  [ "$(placed_on "$tmp/err.cxl" "$k")" = 0 ] || fail "$k got bytes under size>=1MiB:tier=cxl"
done
res=$(resident_on "$tmp/err.cxl" cxl)
[ "$res" -ge "$live_registered" ] || fail "registered regions resident on cxl: $res < $live_registered"
echo "ok: size>=1MiB:tier=cxl placed $big_bytes bytes in $big_blocks blocks on cxl, $res resident there"

# 2. Interleaved dram:cxl 3:1 (per 2 MiB granule, by weight).
with_shim mix 'size>=1MiB:interleave=dram:3,cxl:1' "$PROBE"
cmp -s "$tmp/out.plain" "$tmp/out.mix" || fail "probe output differs under the interleave rule"
dram=$(placed_on "$tmp/err.mix" dram)
cxl=$(placed_on "$tmp/err.mix" cxl)
[ $((dram + cxl)) = "$big_bytes" ] || fail "interleave placed $dram + $cxl bytes, expected $big_bytes"
# 3:1 by granule; blocks that end inside a granule (3 MiB = 1.5 granules) count partly, so
# allow dram between 2x and 5x cxl.
[ "$cxl" -gt 0 ] && [ "$dram" -ge $((2 * cxl)) ] && [ "$dram" -le $((5 * cxl)) ] ||
  fail "interleave dram:3,cxl:1 gave dram $dram, cxl $cxl"
echo "ok: interleave=dram:3,cxl:1 placed dram $dram, cxl $cxl bytes"

# 3. A bad rule: one message naming its position, and the program runs untouched.
env LD_PRELOAD="$SHIM" TIER_TOPOLOGY=default TIER_PRELOAD='size>=1MiB:tier=cxl;size>=64KiB:tier=warp' \
  "$PROBE" >"$tmp/out.bad" 2>"$tmp/err.bad" || fail "probe failed under a bad rule"
cmp -s "$tmp/out.plain" "$tmp/out.bad" || fail "probe output differs under a bad rule"
[ "$(grep -c 'TIER_PRELOAD:1:33: rule `size>=64KiB:tier=warp`' "$tmp/err.bad")" = 1 ] ||
  fail "bad rule not reported once with its position: $(cat "$tmp/err.bad")"
grep -q "running without tiering" "$tmp/err.bad" || fail "bad rule message lacks the consequence"
echo "ok: bad rule reported once: $(cat "$tmp/err.bad")"

# 4. Rules from a file (comments, one rule a line); TIER_PRELOAD unset.
printf '# test rules\nsize>=2MiB : tier=cxl-pool   # large\nsize>=1MiB : bind=hbm\n' >"$tmp/rules"
env LD_PRELOAD="$SHIM" TIER_TOPOLOGY=default TIER_PRELOAD_FILE="$tmp/rules" TIER_PRELOAD_REPORT=1 \
  "$PROBE" >"$tmp/out.file" 2>"$tmp/err.file" || fail "probe failed with a rule file"
cmp -s "$tmp/out.plain" "$tmp/out.file" || fail "probe output differs with a rule file"
pool=$(placed_on "$tmp/err.file" cxl-pool)
hbm=$(placed_on "$tmp/err.file" hbm)
[ $((pool + hbm)) = "$big_bytes" ] && [ "$hbm" = $((4 * (1024 * 1024 + 100 * 1024))) ] ||
  fail "rule file placed pool $pool, hbm $hbm"
echo "ok: rule file placed pool $pool, hbm $hbm bytes"

# 5. A missing rule file: reported, program untouched.
env LD_PRELOAD="$SHIM" TIER_TOPOLOGY=default TIER_PRELOAD_FILE="$tmp/nope" "$PROBE" \
  >"$tmp/out.nofile" 2>"$tmp/err.nofile" || fail "probe failed with a missing rule file"
cmp -s "$tmp/out.plain" "$tmp/out.nofile" || fail "probe output differs with a missing rule file"
grep -q "cannot open $tmp/nope" "$tmp/err.nofile" || fail "missing rule file not reported"
echo "ok: missing rule file reported"
