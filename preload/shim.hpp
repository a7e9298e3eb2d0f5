// shim.hpp - the shim's process-wide state: the rules in force, the runtime that places
// matching allocations, the reentrancy guard, and the counters the exit report prints.
//
// Life cycle: the state starts "passive" (gate = SIZE_MAX: every request goes to the next
// allocator). The constructor in shim.cpp reads the rules, creates the runtime and only then
// publishes the rules, the runtime and the gate (release stores; readers use acquire loads).
// Nothing here is ever destroyed: allocations and frees keep arriving after exit handlers and
// global destructors have run.
//
// Thread-safety: after publication everything but the counters (relaxed atomics) and the
// region table (its own mutex, regions.cpp) is immutable.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "rules.hpp"
#include "tier/tier.h"

namespace tier::preload {

// Depth of shim -> libtier calls on this thread. While it is non-zero, libtier's own
// allocations (std::vector, std::string, hwloc, ...) reach malloc here and must go to the next
// allocator. initial-exec TLS: a preloaded library's TLS is static, and the general-dynamic
// model's __tls_get_addr may itself allocate.
extern thread_local int t_depth __attribute__((tls_model("initial-exec")));

struct Guard {
  Guard() { ++t_depth; }
  ~Guard() { --t_depth; }
  Guard(const Guard &) = delete;
  Guard &operator=(const Guard &) = delete;
};

struct RuleCounters {
  std::atomic<uint64_t> allocations{0};  // blocks placed by this rule
  std::atomic<uint64_t> bytes{0};        // bytes requested for them
  std::atomic<uint64_t> fallbacks{0};    // matched, but libtier could not place: next allocator
};

inline constexpr int kMaxSlots = 64;

struct Shim {
  std::atomic<size_t> gate{SIZE_MAX};  // smallest size any rule matches
  std::atomic<tier_runtime *> runtime{nullptr};
  const Rule *rules = nullptr;
  size_t nrules = 0;
  RuleCounters *counters = nullptr;  // nrules entries
  // Bytes and blocks handed out per node slot (cumulative, by the page map's record).
  std::atomic<uint64_t> placed_bytes[kMaxSlots] = {};
  std::atomic<uint64_t> placed_blocks[kMaxSlots] = {};
  uint32_t region_flags = 0;  // for tier_region_register (TIER_PRELOAD_SAMPLE)
  bool report = false;        // TIER_PRELOAD_REPORT
  const char *origin = "";    // where the rules came from
};

extern Shim g_shim;

// The first rule matching `size` (index in *index), or nullptr.
inline const Rule *match(size_t size, size_t *index) {
  for (size_t i = 0; i < g_shim.nrules; ++i) {
    if (g_shim.rules[i].matches(size)) {
      *index = i;
      return &g_shim.rules[i];
    }
  }
  return nullptr;
}

// Reads the configuration and activates the shim (shim.cpp); idempotent.
void initialize();

// regions.cpp: placed memory is registered with the runtime, in whole 2 MiB granules, so its
// heat is tracked and it can be migrated (large blocks one by one, small arenas by granule).
void regions_init();
void region_added(tier_runtime *rt, void *p);
void region_removed(tier_runtime *rt, void *p);
// A block was placed in `granule` (its 2 MiB-aligned address) of a placement's small arena.
void small_granule_placed(tier_runtime *rt, uintptr_t granule);
uint64_t regions_live();
uint64_t regions_small();
uint64_t regions_failed();
// Sums tier_where over the live regions into `out` (the exit report's residency check).
void regions_where(tier_runtime *rt, tier_where_result *out);

// Records a block placed by rule `index` (counters and bytes per node) and registers the
// small-arena granules it lies in.
void account_placed(tier_runtime *rt, size_t index, const void *p, size_t size);

// report.cpp: the TIER_PRELOAD_REPORT exit report; messages to stderr without allocating.
void report_at_exit();
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tier::preload
