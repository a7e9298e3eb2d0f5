// runtime.hpp - the internal shape of a runtime (tier_runtime) and its per-node accounting.
//
// A runtime owns: the resolved, ranked Topology; one NodeState per node (in tier order; the
// position is the node's "slot", which the page map records); the interned placements; the
// chunk layer (mapped runs, the large-allocation table and the chunk cache). Everything here is
// created once in tier_runtime_create and torn down in tier_runtime_destroy.
//
// Thread-safety: counters are atomics (allocated/allocations are striped by thread so the small
// fast path never bounces one cache line between cores); the placement table and the chunk
// layer have their own mutexes, taken only on slow paths. Lock classes (for fork safety, see
// fork.cpp): "outer" locks may be held while calling into jemalloc; "inner" locks are taken
// inside jemalloc's extent hooks and never held across a jemalloc call.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "alloc/page_map.hpp"
#include "topology/topology.hpp"

struct tier_placement;

namespace tier::alloc {

// A counter split into cache-line stripes. Stripes 1..kStripes-1 each belong to one thread at
// a time (thread_stripe() hands them out and takes them back at thread exit), so their owner
// updates them with a plain relaxed load and store: no locked instruction on the fast path.
// Stripe 0 is shared by the threads beyond that and uses atomic read-modify-write. Stripes may
// go negative individually (a block freed by another thread); the sum never does.
class StripedCounter {
 public:
  static constexpr unsigned kStripes = 64;
  void add(unsigned stripe, int64_t bytes, int64_t count) {
    Stripe &s = stripes_[stripe];
    if (__builtin_expect(stripe != 0, 1)) {
      s.bytes.store(s.bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
      s.count.store(s.count.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    } else {
      s.bytes.fetch_add(bytes, std::memory_order_relaxed);
      s.count.fetch_add(count, std::memory_order_relaxed);
    }
  }
  int64_t bytes() const {
    int64_t t = 0;
    for (const Stripe &s : stripes_) t += s.bytes.load(std::memory_order_relaxed);
    return t;
  }
  int64_t count() const {
    int64_t t = 0;
    for (const Stripe &s : stripes_) t += s.count.load(std::memory_order_relaxed);
    return t;
  }

 private:
  struct alignas(64) Stripe {
    std::atomic<int64_t> bytes{0};
    std::atomic<int64_t> count{0};
  };
  Stripe stripes_[kStripes];
};

struct NodeState {
  Node node;  // copy of the topology's node
  int slot = 0;
  std::atomic<uint64_t> capacity{0};
  std::atomic<uint64_t> reserved{0};  // bytes mapped for this node (live, cached, slack)
  // Of `reserved`, the bytes of freed large runs parked in the reuse cache: room that
  // evict_cache() gives back on demand, so the agent does not count it as used.
  std::atomic<uint64_t> cached{0};
  std::atomic<uint64_t> peak{0};
  std::atomic<uint64_t> fallbacks{0};
  StripedCounter allocated;  // bytes and count handed out and not freed

  // Reserves `bytes` if it fits under capacity; false when the node is full.
  bool try_reserve(uint64_t bytes);
  void release(uint64_t bytes) { reserved.fetch_sub(bytes, std::memory_order_relaxed); }
};

// A mapped run of 2 MiB granules, as recorded for residency statistics and teardown.
struct Run {
  size_t len = 0;
  bool small = false;  // backs jemalloc extents (never unmapped while the runtime lives)
};

struct LargeBlock {
  size_t len = 0;  // run length (a multiple of kGranule)
  tier_placement *placement = nullptr;
  uint64_t layout = 0;  // cache key: which node(s) the run is bound to
};

struct CachedRun {
  void *addr = nullptr;
  size_t len = 0;
  uint64_t layout = 0;
};

// The chunk layer's state (chunks.cpp). All fields under `mu` (an inner lock).
struct ChunkState {
  std::mutex mu;
  std::map<uintptr_t, Run> runs;  // every run this runtime has mapped
  std::unordered_map<uintptr_t, LargeBlock> large;
  std::vector<CachedRun> cache;  // oldest first
  size_t cached_bytes = 0;
  size_t cache_limit_bytes = size_t{1} << 30;
  size_t cache_limit_runs = 64;
};

}  // namespace tier::alloc

struct tier_runtime {
  uint32_t generation = 0;  // page-map owner tag, unique per runtime in the process
  tier::Topology topology;
  std::unique_ptr<tier::alloc::NodeState[]> nodes;  // tier order; index = slot
  int nnodes = 0;
  uint32_t flags = 0;  // TIER_RUNTIME_*
  std::string source;

  // Interned placements (outer lock: arena creation calls into jemalloc while it is held).
  std::mutex placements_mu;
  std::map<std::string, std::unique_ptr<tier_placement>> placements;
  tier_placement *default_placement = nullptr;

  tier::alloc::ChunkState chunks;

  // Slot of node `id`, or -1.
  int slot_of(int id) const {
    for (int i = 0; i < nnodes; ++i)
      if (nodes[i].node.id == id) return i;
    return -1;
  }
};

namespace tier::alloc {

// The calling thread's stripe for StripedCounter: an exclusive one while any is free, else
// the shared stripe 0. Defined in arena.cpp with the rest of the per-thread state.
unsigned thread_stripe();

// Records `bytes` handed out on node `slot` (negative when freed).
inline void account(tier_runtime *rt, int slot, int64_t bytes, int64_t count) {
  rt->nodes[slot].allocated.add(thread_stripe(), bytes, count);
}
inline void account(tier_runtime *rt, int slot, int64_t bytes, int64_t count, unsigned stripe) {
  rt->nodes[slot].allocated.add(stripe, bytes, count);
}

}  // namespace tier::alloc
