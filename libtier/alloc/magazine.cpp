// magazine.cpp - the slow paths of the small-block magazines (see magazine.hpp): size-class
// table, refill, flush, thread exit. The fast paths (a pop in small_alloc, a push in
// free_owned) are inline in alloc_api.cpp.
// Thread-safety: everything here touches only the calling thread's magazines.
#include "alloc/magazine.hpp"

#include <string>

#include "alloc/arena.hpp"
#include "alloc/class_map.hpp"
#include "alloc/page_map.hpp"
#include "alloc/placement.hpp"
#include "alloc/runtime.hpp"

namespace tier::alloc {

SizeClasses g_size_classes;

void init_size_classes() {
  SizeClasses &sc = g_size_classes;
  unsigned count = 0;
  size_t last = 0;
  for (size_t s = 8; s <= kMagMaxSize; s += 8) {
    size_t usable = tierje_nallocx(s, 0);
    if (usable != last) {
      // More classes than slots cannot happen with jemalloc's 16 B quantum (29 classes up to
      // 4 KiB); if a build had them, sizes past the table simply skip the magazines.
      if (count == kMagClasses) break;
      sc.size[count] = static_cast<uint32_t>(usable);
      size_t cap = kMagBytes / usable;
      sc.cap[count] = static_cast<uint32_t>(cap < kMagMinSlots ? kMagMinSlots
                                            : cap > kMagSlots  ? kMagSlots
                                                               : cap);
      ++count;
      last = usable;
    }
    sc.of[s >> 3] = static_cast<uint8_t>(count - 1);
  }
  sc.of[0] = 0;
  sc.count = count;
}

namespace {

Magazines *create_magazines(uint32_t gid) {
  // From the private jemalloc's automatic arenas (ordinary memory, default hooks): the
  // magazine array is Tier's bookkeeping, not memory of the placement.
  auto *m = static_cast<Magazines *>(
      tierje_mallocx(sizeof(Magazines), MALLOCX_ZERO | MALLOCX_TCACHE_NONE));
  if (m == nullptr) return nullptr;
  arm_thread_exit();
  t_thread.mag[gid] = m;
  return m;
}

// Returns bin[from..n) to the arena through tcache `tcache` (MALLOCX_TCACHE flags).
void flush_bin(MagBin &b, unsigned cls, uint32_t from, int tcache) {
  size_t size = g_size_classes.size[cls];
  for (uint32_t i = from; i < b.n; ++i)
    tierje_sdallocx(reinterpret_cast<void *>(b.slot[i] & kMagPtrMask), size, tcache);
  b.n = from;
}

}  // namespace

void *magazine_refill_pop(tier_runtime *rt, tier_placement *pl, unsigned cls) {
  if (cls >= g_size_classes.count) return nullptr;
  ThreadState &t = t_thread;
  Magazines *m = t.mag[pl->gid];
  if (m == nullptr && (m = create_magazines(pl->gid)) == nullptr) return nullptr;
  MagBin &b = m->bin[cls];
  const int flags = thread_alloc_flags(t, pl);
  const size_t size = g_size_classes.size[cls];
  const uint32_t want = g_size_classes.cap[cls] / 2;
  PageMap *pm = PageMap::existing();
  ClassMap *cm = ClassMap::existing();
  // Filled from the back so the first block jemalloc hands out is popped first (its cache
  // lines are the warmest).
  void *got[kMagSlots];
  uint32_t n = 0;
  // A refill that needs a new run takes it on the placement's targets only; when they are
  // full, the direct path (mallocx_placement) tries the other arenas before going lower.
  t.runs_on_targets_only = runs_on_targets_first(pl);
  while (n < want) {
    void *p = tierje_mallocx(size, flags);
    if (p == nullptr) break;
    got[n++] = p;
  }
  t.runs_on_targets_only = false;
  if (n == 0) return nullptr;
  if (cm != nullptr)
    for (uint32_t i = 0; i < n; ++i) cm->set(got[i], cls + 1);
  for (uint32_t i = n; i-- > 1;) {
    b.slot[b.n++] = reinterpret_cast<uintptr_t>(got[i]) |
                    (uintptr_t{pm->get(got[i]).node_slot} << kMagTagShift);
  }
  account(rt, pm->get(got[0]).node_slot, int64_t(size), 1, thread_stripe_of(t));
  return got[0];
}

bool magazine_push_slow(uint32_t gid, unsigned cls, void *p, uint8_t node_slot) {
  if (cls >= g_size_classes.count) return false;
  ThreadState &t = t_thread;
  Magazines *m = t.mag[gid];
  if (m == nullptr && (m = create_magazines(gid)) == nullptr) return false;
  MagBin &b = m->bin[cls];
  const uint32_t cap = g_size_classes.cap[cls];
  // Keep the newest half: those are the blocks most likely still in cache.
  if (b.n >= cap) {
    const uint32_t keep = cap / 2;
    const uint32_t drop = b.n - keep;
    const int tcache = thread_free_flags(t, gid);
    const size_t size = g_size_classes.size[cls];
    for (uint32_t i = 0; i < drop; ++i)
      tierje_sdallocx(reinterpret_cast<void *>(b.slot[i] & kMagPtrMask), size, tcache);
    for (uint32_t i = 0; i < keep; ++i) b.slot[i] = b.slot[drop + i];
    b.n = keep;
  }
  b.slot[b.n++] = reinterpret_cast<uintptr_t>(p) | (uintptr_t{node_slot} << kMagTagShift);
  return true;
}

void magazine_thread_exit() {
  ThreadState &t = t_thread;
  for (uint32_t gid = 0; gid < kMaxPlacements; ++gid) {
    Magazines *m = t.mag[gid];
    if (m == nullptr) continue;
    t.mag[gid] = nullptr;
    // A destroyed runtime's memory may be unmapped already: its blocks are dropped.
    if (placement_by_gid(gid) != nullptr) {
      int tcache = t.flags[gid];
      if (tcache == 0) tcache = MALLOCX_TCACHE_NONE;
      for (unsigned cls = 0; cls < g_size_classes.count; ++cls)
        flush_bin(m->bin[cls], cls, 0, tcache);
    }
    tierje_dallocx(m, MALLOCX_TCACHE_NONE);
  }
}

void magazine_drop(uint32_t gid) {
  ThreadState &t = t_thread;
  if (Magazines *m = t.mag[gid]) {
    t.mag[gid] = nullptr;
    tierje_dallocx(m, MALLOCX_TCACHE_NONE);
  }
}

size_t magazine_cached_blocks(uint32_t gid) {
  Magazines *m = t_thread.mag[gid];
  if (m == nullptr) return 0;
  size_t total = 0;
  for (unsigned cls = 0; cls < g_size_classes.count; ++cls) total += m->bin[cls].n;
  return total;
}

uint64_t arena_small_outstanding(const tier_placement *pl) {
  uint64_t epoch = 1;
  size_t len = sizeof epoch;
  tierje_mallctl("epoch", &epoch, &len, &epoch, len);
  unsigned arenas[kArenaSlots];
  const unsigned n = placement_arenas(pl, arenas);
  uint64_t outstanding = 0;
  for (unsigned i = 0; i < n; ++i) {
    const std::string prefix = "stats.arenas." + std::to_string(arenas[i]) + ".small.";
    uint64_t nmalloc = 0, ndalloc = 0;
    len = sizeof nmalloc;
    if (tierje_mallctl((prefix + "nmalloc").c_str(), &nmalloc, &len, nullptr, 0) != 0) continue;
    len = sizeof ndalloc;
    if (tierje_mallctl((prefix + "ndalloc").c_str(), &ndalloc, &len, nullptr, 0) != 0) continue;
    outstanding += nmalloc - ndalloc;
  }
  return outstanding;
}

}  // namespace tier::alloc
