// report.cpp - messages on stderr and the TIER_PRELOAD_REPORT=1 exit report: per rule the
// blocks and bytes it placed (and the ones libtier could not place), per node the bytes placed
// over the run and what is live at exit (the runtime's own statistics), and where the pages of
// the registered regions are (tier_where).
//
// Why write(2) into a stack buffer: messages may be printed from inside malloc, before stdio
// is usable, or at exit after stdio's buffers are gone; nothing here allocates.
// Thread-safety: thread-safe (one write per line).
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

#include "shim.hpp"
#include "tier/heat.h"

namespace tier::preload {
namespace {

const char *kind_label(tier_node_kind kind) {
  switch (kind) {
    case TIER_KIND_DRAM:
      return "dram";
    case TIER_KIND_HBM:
      return "hbm";
    case TIER_KIND_CXL:
      return "cxl";
    case TIER_KIND_CXL_POOL:
      return "cxl-pool";
    default:
      return "unknown";
  }
}

}  // namespace

void say(const char *fmt, ...) {
  char buf[1024];
  int n = std::snprintf(buf, sizeof buf, "libtier-preload[%d]: ", static_cast<int>(getpid()));
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : std::min<size_t>(m, sizeof buf - n - 2));
  buf[len++] = '\n';
  ssize_t r = write(2, buf, len);
  (void)r;
}

void report_at_exit() {
  Guard guard;  // tier_where below allocates its page batches
  tier_runtime *rt = g_shim.runtime.load(std::memory_order_acquire);
  if (rt == nullptr) return;
  say("report: rules from %s", g_shim.origin);
  for (size_t i = 0; i < g_shim.nrules; ++i) {
    const RuleCounters &c = g_shim.counters[i];
    say("report: rule %zu `%s` (policy %s): placed %llu blocks, %llu bytes; %llu fell back", i + 1,
        g_shim.rules[i].text.c_str(), g_shim.rules[i].policy_text.c_str(),
        static_cast<unsigned long long>(c.allocations.load()),
        static_cast<unsigned long long>(c.bytes.load()),
        static_cast<unsigned long long>(c.fallbacks.load()));
  }
  tier_where_result where{};
  where.size = sizeof where;
  regions_where(rt, &where);
  for (int i = 0; i < tier_node_count(rt) && i < kMaxSlots; ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    tier_node_stats st{};
    st.size = sizeof st;
    if (tier_node_at(rt, i, &info) != TIER_OK || tier_node_stats_get(rt, info.id, &st) != TIER_OK)
      continue;
    unsigned long long in_regions = 0;
    for (int j = 0; j < where.nentries; ++j)
      if (where.entries[j].node == info.id) in_regions = where.entries[j].bytes;
    say("report: node %d %s (%s) tier %d: placed %llu bytes in %llu blocks; live %llu bytes in "
        "%llu "
        "blocks, peak reserved %llu; registered large blocks resident here %llu bytes",
        info.id, info.name, kind_label(info.kind), info.tier,
        static_cast<unsigned long long>(g_shim.placed_bytes[i].load()),
        static_cast<unsigned long long>(g_shim.placed_blocks[i].load()),
        static_cast<unsigned long long>(st.allocated),
        static_cast<unsigned long long>(st.allocations), static_cast<unsigned long long>(st.peak),
        in_regions);
  }
  tier_agent_stats ag{};
  ag.size = sizeof ag;
  if (tier_agent_stats_get(rt, &ag) == TIER_OK) {
    say("report: runtime: %llu regions, %llu chunks tracked; agent %s, %llu epochs, %llu "
        "promotions, %llu demotions, %llu bytes moved (policy %s, mover %s)",
        static_cast<unsigned long long>(ag.regions), static_cast<unsigned long long>(ag.chunks),
        ag.running ? "running" : "not running", static_cast<unsigned long long>(ag.epochs),
        static_cast<unsigned long long>(ag.promotions),
        static_cast<unsigned long long>(ag.demotions),
        static_cast<unsigned long long>(ag.bytes_moved), ag.policy, ag.mover);
  }
  say("report: registered regions: %llu large blocks live, %llu small-arena granules; %llu "
      "could not be registered",
      static_cast<unsigned long long>(regions_live()),
      static_cast<unsigned long long>(regions_small()),
      static_cast<unsigned long long>(regions_failed()));
}

}  // namespace tier::preload
