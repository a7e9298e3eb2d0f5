// tier_view.cpp - see tier_view.hpp.
#include "tier_view.hpp"

namespace serve_demo {

const char *kind_name(tier_node_kind kind) {
  switch (kind) {
    case TIER_KIND_HBM:
      return "hbm";
    case TIER_KIND_DRAM:
      return "dram";
    case TIER_KIND_CXL:
      return "cxl";
    case TIER_KIND_CXL_POOL:
      return "cxl-pool";
    default:
      return "unknown";
  }
}

std::vector<TierRow> tier_rows(tier_runtime *rt, tier_kv_pool *pool, tier_experts *set) {
  std::vector<TierRow> rows(static_cast<size_t>(tier_tier_count(rt)));
  for (size_t t = 0; t < rows.size(); ++t) {
    rows[t].tier = static_cast<int>(t);
    tier_node_stats s{};
    s.size = sizeof s;
    if (tier_tier_stats_get(rt, static_cast<int>(t), &s) == TIER_OK) {
      rows[t].capacity = s.capacity;
      rows[t].allocated = s.allocated;
    }
  }
  for (int i = 0; i < tier_node_count(rt); ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    if (tier_node_at(rt, i, &info) != TIER_OK || info.tier < 0 ||
        info.tier >= static_cast<int>(rows.size()))
      continue;
    TierRow &r = rows[static_cast<size_t>(info.tier)];
    r.nodes += (r.nodes.empty() ? "" : "+") + std::string(info.name);
    const std::string k = kind_name(info.kind);
    if (r.kinds.find(k) == std::string::npos) r.kinds += (r.kinds.empty() ? "" : "+") + k;
  }
  tier_kv_pool_stats ks{};
  ks.size = sizeof ks;
  if (pool && tier_kv_pool_stats_get(pool, &ks) == TIER_OK)
    for (size_t t = 0; t < rows.size() && t < 8; ++t) rows[t].kv_blocks = ks.blocks_on_tier[t];
  tier_experts_stats es{};
  es.size = sizeof es;
  if (set && tier_experts_stats_get(set, &es) == TIER_OK)
    for (size_t t = 0; t < rows.size() && t < 8; ++t) rows[t].experts = es.experts_on_tier[t];
  return rows;
}

}  // namespace serve_demo
