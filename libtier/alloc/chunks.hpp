// chunks.hpp - the chunk layer: 2 MiB-aligned runs mapped, bound to nodes, charged against node
// capacity and recorded in the page map; large allocations and their reuse cache.
//
// Node choice for a run: single-node placements walk the placement's order and take the first
// node with room (evicting that node's cached runs before giving up on it); interleaved ones
// pick a node per 2 MiB granule by weight, skipping full targets, then falling down the order.
// On real nodes an interleave whose granules all landed on targets is bound with the kernel's
// own interleave mode instead (page-granular), when the placement has one.
//
// Large runs freed by the caller are parked in a bounded per-runtime cache keyed by (layout,
// length) and handed out again without a syscall: that reuse is what makes large allocations
// cheap. Beyond the bound the oldest runs are unmapped.
//
// Thread-safety: all functions are thread-safe; the runtime's chunk mutex (an inner lock) is
// held only around bookkeeping, never across jemalloc calls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alloc/runtime.hpp"
#include "common/result.hpp"

namespace tier::alloc {

// The TIER_ENOMEM error for `len` bytes that fit on none of the placement's nodes.
Error no_room(const tier_runtime *rt, const tier_placement *pl, size_t len);

// For jemalloc's extent hook: a run of at least `size` bytes aligned to `alignment`, on the
// placement's targets only when `targets_only` (else down the ranking as its mode allows).
// nullptr when no such node has room (the thread's last error says why).
void *map_small_run(tier_placement *pl, size_t size, size_t alignment, bool targets_only);

struct LargeResult {
  void *ptr = nullptr;
  size_t len = 0;       // usable length (a multiple of kGranule)
  bool zeroed = false;  // fresh pages (true) or a reused run (false)
};
Result<LargeResult> large_alloc(tier_placement *pl, size_t size);
// Frees a large allocation starting at `p`; the error distinguishes a double free and an
// interior pointer.
Status large_free(tier_runtime *rt, void *p);
// The block's length and placement, or an error when `p` is not a live large allocation.
Result<LargeBlock> large_lookup(tier_runtime *rt, const void *p);

// Unmaps cached runs of node `slot` (all nodes when -1) to release capacity.
void evict_cache(tier_runtime *rt, int slot);
// Drops the cache and forgets the runs at runtime destruction (live memory stays mapped).
void teardown_chunks(tier_runtime *rt);

// Bytes of this runtime's mapped runs resident per node slot (`out` has rt->nnodes entries):
// move_pages on real topologies, mincore plus the page map on emulated ones.
Status resident_by_slot(tier_runtime *rt, uint64_t *out);

}  // namespace tier::alloc
