// chunks.cpp - mapping, binding, charging, recording and caching 2 MiB-aligned runs.
//
// Every run this runtime maps is in ChunkState::runs (for residency and teardown) and its
// granules in the page map. Capacity is charged per granule to the node it was placed on
// (NodeState::reserved) when mapped and released when unmapped; a cached run stays charged,
// and its granules (GranuleKind::kCached) are counted in NodeState::cached as well.
// Thread-safety: see chunks.hpp. Syscalls (mmap, mbind, madvise, munmap) run outside the chunk
// mutex; only table updates are inside it.
#include "alloc/chunks.hpp"
#include "alloc/upper_hooks.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "alloc/placement.hpp"
#include "prim/os.hpp"

namespace tier::alloc {

bool NodeState::try_reserve(uint64_t bytes) {
  uint64_t cur = reserved.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t cap = capacity.load(std::memory_order_relaxed);
    if (cur + bytes > cap || cur + bytes < cur) return false;
    if (reserved.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed)) break;
  }
  uint64_t now = cur + bytes;
  uint64_t pk = peak.load(std::memory_order_relaxed);
  while (now > pk && !peak.compare_exchange_weak(pk, now, std::memory_order_relaxed)) {
  }
  return true;
}

namespace {

size_t round_granule(size_t n) {
  return (n + kGranule - 1) & ~(kGranule - 1);
}

// The mbind mode for a run placed on one node of this placement.
int single_mode(const tier_runtime *rt, const tier_placement *pl, int slot) {
  // Emulated nodes share a backing node with others: PREFERRED there keeps a full physical
  // node from OOM-killing us over a capacity that Tier itself enforces.
  if (rt->nodes[slot].node.emulated) return prim::kMpolPreferred;
  return pl->mode == TIER_MODE_BIND ? prim::kMpolBind : prim::kMpolPreferred;
}

int os_node(const tier_runtime *rt, int slot) {
  const Node &n = rt->nodes[slot].node;
  return n.emulated && n.backing_node >= 0 ? n.backing_node : n.id;
}

uint64_t single_layout(const tier_runtime *rt, const tier_placement *pl, int slot) {
  return (uint64_t(single_mode(rt, pl, slot)) << 40) | (uint64_t(pl->hugepage) << 32) |
         uint64_t(slot);
}

uint64_t multi_layout(const tier_placement *pl) {
  return (uint64_t{1} << 63) | pl->gid;
}

// Reserves one node for a whole run: the first of the placement's order with room. Returns
// the slot, or -1 with every node full.
int reserve_single(tier_placement *pl, size_t len, bool evict, size_t nslots) {
  tier_runtime *rt = pl->runtime;
  for (size_t i = 0; i < nslots; ++i) {
    int slot = pl->order[i];
    NodeState &ns = rt->nodes[slot];
    bool ok = ns.try_reserve(len);
    if (!ok && evict) {
      evict_cache(rt, slot);
      ok = ns.try_reserve(len);
    }
    if (!ok) continue;
    bool fell = i > 0 && !(pl->mode == TIER_MODE_PREFERRED_MANY && int(i) < pl->ntargets);
    if (fell) rt->nodes[pl->order[0]].fallbacks.fetch_add(1, std::memory_order_relaxed);
    return slot;
  }
  return -1;
}

// Reserves a node per granule for an interleaved run; fills `slots`. False (nothing held) when
// some granule finds no node with room.
bool reserve_interleaved(tier_placement *pl, size_t ngran, std::vector<int> &slots, size_t nslots) {
  tier_runtime *rt = pl->runtime;
  slots.clear();
  for (size_t g = 0; g < ngran; ++g) {
    int want = next_interleave_slot(pl);
    int got = -1;
    if (rt->nodes[want].try_reserve(kGranule)) {
      got = want;
    } else {
      for (size_t i = 0; i < nslots; ++i) {
        if (rt->nodes[pl->order[i]].try_reserve(kGranule)) {
          got = pl->order[i];
          break;
        }
      }
      if (got >= 0) rt->nodes[want].fallbacks.fetch_add(1, std::memory_order_relaxed);
    }
    if (got < 0) {
      for (int s : slots) rt->nodes[s].release(kGranule);
      slots.clear();
      return false;
    }
    slots.push_back(got);
  }
  return true;
}

std::string order_text(const tier_runtime *rt, const tier_placement *pl) {
  std::string s;
  for (int slot : pl->order) s += (s.empty() ? "" : ", ") + std::to_string(rt->nodes[slot].node.id);
  return s;
}

// Binds the run of `len` bytes: one mbind per stretch of granules on the same node, or one
// kernel interleave over all targets when every granule landed on a target. `slots` holds one
// slot per granule, or a single slot for the whole run.
Status bind_run(tier_placement *pl, char *addr, size_t len, const std::vector<int> &slots) {
  tier_runtime *rt = pl->runtime;
  if (slots.size() == 1) {
    int node = os_node(rt, slots[0]);
    return prim::bind(addr, len, single_mode(rt, pl, slots[0]), &node, 1);
  }
  if (pl->kernel_mode >= 0 && slots.size() > 1) {
    bool all_targets = std::all_of(slots.begin(), slots.end(), [&](int s) {
      return std::find(pl->order.begin(), pl->order.begin() + pl->ntargets, s) !=
             pl->order.begin() + pl->ntargets;
    });
    if (all_targets) {
      std::vector<int> ids;
      for (int i = 0; i < pl->ntargets; ++i) ids.push_back(os_node(rt, pl->order[i]));
      return prim::bind(addr, slots.size() * kGranule, pl->kernel_mode, ids.data(),
                        static_cast<int>(ids.size()));
    }
  }
  size_t i = 0;
  while (i < slots.size()) {
    size_t j = i + 1;
    while (j < slots.size() && slots[j] == slots[i]) ++j;
    int node = os_node(rt, slots[i]);
    if (Status st = prim::bind(addr + i * kGranule, (j - i) * kGranule,
                               single_mode(rt, pl, slots[i]), &node, 1);
        !st)
      return st;
    i = j;
  }
  return {};
}

// Maps, binds and records a run of `len` bytes (a multiple of kGranule) whose granules are
// already charged to `slots`. On failure the charge is released.
Result<char *> map_run(tier_placement *pl, size_t len, size_t align, const std::vector<int> &slots,
                       GranuleKind kind) {
  tier_runtime *rt = pl->runtime;
  auto release = [&] {
    for (int s : slots) rt->nodes[s].release(len / slots.size());
  };
  auto mem = prim::map_aligned(len, std::max(align, kGranule));
  if (!mem) {
    release();
    return std::move(mem).error();
  }
  char *addr = static_cast<char *>(*mem);
  if (Status st = bind_run(pl, addr, len, slots); !st) {
    (void)prim::unmap(addr, len);
    release();
    return std::move(st).error();
  }
  // THP for large runs only: small-object extents get purged page by page, which would split
  // huge pages again.
  if (kind != GranuleKind::kSmall && pl->hugepage) (void)prim::advise(addr, len, MADV_HUGEPAGE);
  PageMap *pm = PageMap::existing();
  for (size_t g = 0; g < len / kGranule; ++g) {
    int slot = slots.size() == 1 ? slots[0] : slots[g];
    GranuleKind k = kind;
    if (kind == GranuleKind::kLargeHead && g > 0) k = GranuleKind::kLargeBody;
    pm->set_one(addr + g * kGranule,
                Granule{rt->generation, pl->gid, static_cast<uint8_t>(slot), k});
  }
  std::lock_guard<std::mutex> lock(rt->chunks.mu);
  rt->chunks.runs[reinterpret_cast<uintptr_t>(addr)] = Run{len, kind == GranuleKind::kSmall};
  return addr;
}

// Charges and maps a run for `pl`, choosing node(s) by its mode; only among its targets
// (not down the ranking) when `targets_only`.
Result<char *> place_run(tier_placement *pl, size_t len, size_t align, GranuleKind kind,
                         bool targets_only = false) {
  tier_runtime *rt = pl->runtime;
  const size_t nslots = targets_only ? size_t(pl->ntargets) : pl->order.size();
  std::vector<int> slots;
  if (pl->interleaved() && pl->ntargets > 1) {
    if (!reserve_interleaved(pl, len / kGranule, slots, nslots)) {
      evict_cache(rt, -1);
      if (!reserve_interleaved(pl, len / kGranule, slots, nslots)) return no_room(rt, pl, len);
    }
  } else {
    int slot = reserve_single(pl, len, /*evict=*/true, nslots);
    if (slot < 0) return no_room(rt, pl, len);
    slots.push_back(slot);
  }
  return map_run(pl, len, align, slots, kind);
}

// Unmaps a run (not holding the chunk mutex) and releases its charge per granule.
void unmap_run(tier_runtime *rt, char *addr, size_t len) {
  PageMap *pm = PageMap::existing();
  for (size_t off = 0; off < len; off += kGranule) {
    Granule g = pm->get(addr + off);
    if (g.runtime != rt->generation) continue;
    rt->nodes[g.node_slot].release(kGranule);
    if (g.kind == GranuleKind::kCached)
      rt->nodes[g.node_slot].cached.fetch_sub(kGranule, std::memory_order_relaxed);
  }
  pm->clear(addr, len);
  (void)prim::unmap(addr, len);
}

}  // namespace

Error no_room(const tier_runtime *rt, const tier_placement *pl, size_t len) {
  return make_error(TIER_ENOMEM, "no room for " + std::to_string(len) + " bytes on node(s) " +
                                     order_text(rt, pl) + " allowed by policy " + pl->text);
}

void *map_small_run(tier_placement *pl, size_t size, size_t alignment, bool targets_only) {
  size_t len = round_granule(size);
  if (len < size) return nullptr;
  auto r = place_run(pl, len, alignment, GranuleKind::kSmall, targets_only);
  if (!r) {
    set_last_error(r.error());
    return nullptr;
  }
  return *r;
}

Result<LargeResult> large_alloc(tier_placement *pl, size_t size) {
  tier_runtime *rt = pl->runtime;
  size_t len = round_granule(size);
  if (len < size) return make_error(TIER_EINVAL, "size " + std::to_string(size) + " overflows");
  bool multi = pl->interleaved() && pl->ntargets > 1;
  PageMap *pm = PageMap::existing();
  auto take_cached = [&](uint64_t layout) -> char * {
    std::lock_guard<std::mutex> lock(rt->chunks.mu);
    auto &cache = rt->chunks.cache;
    // Newest first: its pages are the likeliest to still be warm.
    for (size_t i = cache.size(); i-- > 0;) {
      if (cache[i].layout != layout || cache[i].len != len) continue;
      char *addr = static_cast<char *>(cache[i].addr);
      cache.erase(cache.begin() + static_cast<ptrdiff_t>(i));
      rt->chunks.cached_bytes -= len;
      return addr;
    }
    return nullptr;
  };

  char *addr = nullptr;
  bool fresh = false;
  uint64_t layout = 0;
  if (multi) {
    layout = multi_layout(pl);
    addr = take_cached(layout);
    if (!addr) {
      auto r = place_run(pl, len, kGranule, GranuleKind::kLargeHead);
      if (!r) return std::move(r).error();
      addr = *r;
      fresh = true;
    }
  } else {
    // Walk the order: a cached run on a node beats fresh memory further down, never the
    // other way round.
    for (size_t i = 0; i < pl->order.size() && !addr; ++i) {
      int slot = pl->order[i];
      layout = single_layout(rt, pl, slot);
      addr = take_cached(layout);
      if (addr) break;
      NodeState &ns = rt->nodes[slot];
      bool ok = ns.try_reserve(len);
      if (!ok) {
        evict_cache(rt, slot);
        ok = ns.try_reserve(len);
      }
      if (!ok) continue;
      if (i > 0 && !(pl->mode == TIER_MODE_PREFERRED_MANY && int(i) < pl->ntargets))
        rt->nodes[pl->order[0]].fallbacks.fetch_add(1, std::memory_order_relaxed);
      auto r = map_run(pl, len, kGranule, {slot}, GranuleKind::kLargeHead);
      if (!r) return std::move(r).error();
      addr = *r;
      fresh = true;
    }
    if (!addr) return no_room(rt, pl, len);
  }
  if (!fresh) {
    // A cached run: re-tag its granules as allocated (their nodes are unchanged).
    for (size_t off = 0; off < len; off += kGranule) {
      Granule g = pm->get(addr + off);
      g.kind = off == 0 ? GranuleKind::kLargeHead : GranuleKind::kLargeBody;
      g.placement = pl->gid;
      pm->set_one(addr + off, g);
      rt->nodes[g.node_slot].cached.fetch_sub(kGranule, std::memory_order_relaxed);
    }
  }
  {
    std::lock_guard<std::mutex> lock(rt->chunks.mu);
    rt->chunks.large[reinterpret_cast<uintptr_t>(addr)] = LargeBlock{len, pl, layout};
  }
  for (size_t off = 0; off < len; off += kGranule)
    account(rt, pm->get(addr + off).node_slot, int64_t(kGranule), off == 0 ? 1 : 0);
  return LargeResult{addr, len, fresh};
}

Result<LargeBlock> large_lookup(tier_runtime *rt, const void *p) {
  std::lock_guard<std::mutex> lock(rt->chunks.mu);
  auto it = rt->chunks.large.find(reinterpret_cast<uintptr_t>(p));
  if (it == rt->chunks.large.end()) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%p is not the start of a live large allocation", p);
    return make_error(TIER_EINVAL, buf);
  }
  return it->second;
}

Status large_free(tier_runtime *rt, void *p) {
  char *addr = static_cast<char *>(p);
  LargeBlock block;
  {
    std::lock_guard<std::mutex> lock(rt->chunks.mu);
    auto it = rt->chunks.large.find(reinterpret_cast<uintptr_t>(p));
    if (it == rt->chunks.large.end()) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "tier_free(%p): not the start of a live allocation", p);
      return make_error(TIER_EINVAL, buf);
    }
    block = it->second;
    rt->chunks.large.erase(it);
  }
  // Regions registered inside the run are forgotten, and an epoch moving them finishes, before
  // the run is cached or unmapped under the mover.
  tier::alloc::notify_before_free(rt, p, block.len);
  PageMap *pm = PageMap::existing();
  int first_slot = pm->get(addr).node_slot;
  bool one_node = true;
  for (size_t off = 0; off < block.len; off += kGranule) {
    Granule g = pm->get(addr + off);
    account(rt, g.node_slot, -int64_t(kGranule), off == 0 ? -1 : 0);
    one_node = one_node && g.node_slot == first_slot;
    g.kind = GranuleKind::kCached;
    pm->set_one(addr + off, g);
    rt->nodes[g.node_slot].cached.fetch_add(kGranule, std::memory_order_relaxed);
  }
  // A mover (migrate/) may have re-placed granules since allocation: the cache key must say
  // where the run is now, and a single-node run that got split is not worth keeping.
  bool reusable = true;
  if (!(block.layout >> 63)) {
    if (one_node)
      block.layout = single_layout(rt, block.placement, first_slot);
    else
      reusable = false;
  }
  std::vector<CachedRun> evicted;
  bool keep = false;
  {
    std::lock_guard<std::mutex> lock(rt->chunks.mu);
    ChunkState &cs = rt->chunks;
    if (reusable && block.len <= cs.cache_limit_bytes) {
      keep = true;
      while (!cs.cache.empty() && (cs.cached_bytes + block.len > cs.cache_limit_bytes ||
                                   cs.cache.size() >= cs.cache_limit_runs)) {
        evicted.push_back(cs.cache.front());
        cs.cached_bytes -= cs.cache.front().len;
        cs.runs.erase(reinterpret_cast<uintptr_t>(cs.cache.front().addr));
        cs.cache.erase(cs.cache.begin());
      }
      cs.cache.push_back(CachedRun{addr, block.len, block.layout});
      cs.cached_bytes += block.len;
    } else {
      cs.runs.erase(reinterpret_cast<uintptr_t>(addr));
    }
  }
  for (const CachedRun &c : evicted) unmap_run(rt, static_cast<char *>(c.addr), c.len);
  if (!keep) unmap_run(rt, addr, block.len);
  return {};
}

void evict_cache(tier_runtime *rt, int slot) {
  std::vector<CachedRun> evicted;
  {
    std::lock_guard<std::mutex> lock(rt->chunks.mu);
    ChunkState &cs = rt->chunks;
    PageMap *pm = PageMap::existing();
    for (size_t i = 0; i < cs.cache.size();) {
      const CachedRun &c = cs.cache[i];
      bool touches = slot < 0;
      for (size_t off = 0; off < c.len && !touches; off += kGranule)
        touches = pm->get(static_cast<char *>(c.addr) + off).node_slot == slot;
      if (!touches) {
        ++i;
        continue;
      }
      evicted.push_back(c);
      cs.cached_bytes -= c.len;
      cs.runs.erase(reinterpret_cast<uintptr_t>(c.addr));
      cs.cache.erase(cs.cache.begin() + static_cast<ptrdiff_t>(i));
    }
  }
  for (const CachedRun &c : evicted) unmap_run(rt, static_cast<char *>(c.addr), c.len);
}

void teardown_chunks(tier_runtime *rt) {
  evict_cache(rt, -1);
  std::lock_guard<std::mutex> lock(rt->chunks.mu);
  rt->chunks.runs.clear();
  rt->chunks.large.clear();
}

Status resident_by_slot(tier_runtime *rt, uint64_t *out) {
  for (int i = 0; i < rt->nnodes; ++i) out[i] = 0;
  PageMap *pm = PageMap::existing();
  constexpr size_t kPagesPerGranule = kGranule / prim::kPageSize;
  // Held across the queries so no run is unmapped under them; stats calls are rare.
  std::lock_guard<std::mutex> lock(rt->chunks.mu);
  if (rt->topology.emulated) {
    // The kernel only knows backing nodes; the page map knows which virtual node each granule
    // was placed on, and mincore which of its pages exist.
    unsigned char vec[kPagesPerGranule];
    for (const auto &[base, run] : rt->chunks.runs) {
      for (size_t off = 0; off < run.len; off += kGranule) {
        char *g = reinterpret_cast<char *>(base) + off;
        if (int err = prim::ops().residency(g, kGranule, vec))
          return Error{TIER_EOS, err, std::string("mincore: ") + std::strerror(err)};
        uint64_t pages = 0;
        for (unsigned char v : vec) pages += v & 1;
        out[pm->get(g).node_slot] += pages * prim::kPageSize;
      }
    }
    return {};
  }
  std::vector<void *> pages(kPagesPerGranule);
  std::vector<int> status(kPagesPerGranule);
  for (const auto &[base, run] : rt->chunks.runs) {
    for (size_t off = 0; off < run.len; off += kGranule) {
      char *g = reinterpret_cast<char *>(base) + off;
      for (size_t i = 0; i < kPagesPerGranule; ++i) pages[i] = g + i * prim::kPageSize;
      if (Status st = prim::query_nodes(pages.data(), kPagesPerGranule, status.data()); !st)
        return st;
      for (int s : status) {
        if (s < 0) continue;
        int slot = rt->slot_of(s);
        if (slot >= 0) out[slot] += prim::kPageSize;
      }
    }
  }
  return {};
}

}  // namespace tier::alloc
