// belady.hpp - Belady's offline optimum for a fast tier of `capacity` equally sized objects.
//
// Replay-only, because it reads the future: on every reference the object is kept if its next
// use comes sooner than that of the resident whose next use is furthest away (which is then
// evicted); an object never used again is not kept (bypass). With equal sizes and demand
// admission free of cost, this maximises the number of references served from the fast tier
// (Belady 1966; Mattson et al. 1970): no placement of this capacity hits more often. Its first
// reference to an object is always a miss, as for every policy.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>

#include "workload.hpp"

namespace tier::replay {

struct OptimumResult {
  uint64_t refs = 0;
  uint64_t hits = 0;
  uint64_t insertions = 0;    // objects placed into the fast tier (bytes = x object_bytes)
  uint64_t created_fast = 0;  // of which on their first reference: written there, not moved
  uint64_t evictions = 0;
};

OptimumResult belady(const Workload &w, uint64_t capacity_objects);

}  // namespace tier::replay
