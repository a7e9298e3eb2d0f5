// tier_view.hpp - a per-tier snapshot of the runtime (capacity, bytes placed, KV blocks and
// experts on each tier) for the live view and the final report.
// Thread-safety: reads the runtime's thread-safe statistics calls.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tier/experts.h"
#include "tier/kv.h"
#include "tier/tier.h"

namespace serve_demo {

struct TierRow {
  int tier = 0;
  std::string nodes;  // "hbm0" or "ddr0+ddr1"
  std::string kinds;
  uint64_t capacity = 0;
  uint64_t allocated = 0;  // bytes handed out by Tier on the tier
  uint64_t kv_blocks = 0;
  uint64_t experts = 0;
};

std::vector<TierRow> tier_rows(tier_runtime *rt, tier_kv_pool *pool, tier_experts *set);
const char *kind_name(tier_node_kind kind);

}  // namespace serve_demo
