// placement.hpp - a tier_policy resolved against a runtime: an ordered node list, a mode, and
// the jemalloc arenas that serve its small sizes.
//
// Placements are interned per runtime (equal resolved policies give the same handle) and live
// until the runtime is destroyed. Their fields are immutable after creation except the
// interleave cursor, so the fast path reads them without locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "alloc/runtime.hpp"
#include "common/result.hpp"
#include "tier/tier.h"

namespace tier::alloc {
struct ArenaBinding;
}

struct tier_placement {
  tier_runtime *runtime = nullptr;
  uint16_t gid = 0;  // process-wide id (page map, thread tcache table)
  tier_mode mode = TIER_MODE_PREFERRED;
  uint32_t flags = 0;             // TIER_POLICY_*
  bool hugepage = true;           // advise THP on large runs
  std::vector<int> order;         // node slots in the order allocation tries them
  int ntargets = 0;               // order[0..ntargets) are the policy's targets
  std::vector<uint32_t> weights;  // per target, for the interleave modes (all 1 for INTERLEAVE)
  uint32_t weight_sum = 0;
  // mbind mode used for a run spread over several real nodes at once (kMpolInterleave /
  // kMpolWeightedInterleave), or -1 when Tier splits the run itself by 2 MiB granules.
  int kernel_mode = -1;
  // The placement's jemalloc arenas and the hooks they share (arena.hpp). Static storage:
  // thread exit still finds it after the runtime, and this placement, are gone.
  tier::alloc::ArenaBinding *binding = nullptr;
  std::atomic<uint64_t> cursor{0};  // interleave position, in weight units
  std::string key;                  // canonical form of the resolved policy (interning key)
  std::string text;                 // the resolved policy in tier_policy_parse's grammar

  bool interleaved() const {
    return mode == TIER_MODE_INTERLEAVE || mode == TIER_MODE_WEIGHTED_INTERLEAVE;
  }
};

namespace tier::alloc {

// The integer stored in an enum field that C callers may have filled with any value: reading
// it as the enum type would be undefined behaviour in C++ when it is out of range.
template <class E>
int raw_enum(const E &field) {
  static_assert(sizeof(E) == sizeof(int));
  int v;
  std::memcpy(&v, &field, sizeof v);
  return v;
}

// Checks a policy's fields (mode, select, tier, kind, nnodes, nodes, weights, flags) against
// the runtime; the error names the field and its value.
Status validate_policy(const tier_runtime *rt, const tier_policy *policy);

// The ids of the nodes a (valid) policy's selector picks, in resolution order.
Result<std::vector<int>> target_node_ids(const tier_runtime *rt, const tier_policy *policy);

// The interned placement for `policy` (nullptr = TIER_POLICY_INIT), creating it and its arena
// on first use.
Result<tier_placement *> get_placement(tier_runtime *rt, const tier_policy *policy);

// The next interleave target (a node slot) for one 2 MiB granule, by smooth weighted
// round-robin over the targets.
int next_interleave_slot(tier_placement *pl);

// The live placement with process-wide id `gid` (nullptr once its runtime is destroyed).
// Lock-free; used to route frees and reallocs found through the page map.
tier_placement *placement_by_gid(uint32_t gid);
// Forgets the runtime's placements in the gid table (runtime destruction).
void forget_placements(tier_runtime *rt);

}  // namespace tier::alloc
