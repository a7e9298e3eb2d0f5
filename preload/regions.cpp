// regions.cpp - registering large placed blocks with the runtime (tier_region_register), so
// their heat is tracked and they can be migrated: by the in-process agent
// (TIER_PRELOAD_AGENT=1) or by tierd through the client layer.
//
// The chunk table tracks 2 MiB chunks, so regions are made of whole granules: a large block
// (libtier's large allocations start on a granule boundary) is one region, registered when it
// is handed out and unregistered when it is freed; the table maps its address to its region id.
// Smaller blocks share granules of a placement's jemalloc arena, which libtier never unmaps
// while the runtime lives: each such granule is registered once, the first time a block is
// placed in it (a bitmap over the address space, one bit a granule, says which are). Regions are
// registered without fault sampling unless TIER_PRELOAD_SAMPLE=1: a sampled page makes read(2) into
// it fail with EFAULT, which an unmodified program does not expect.
//
// Thread-safety: the table is guarded by a mutex that is held across fork (pthread_atfork), so
// a child never inherits it locked. Callers hold the reentrancy guard, so the table's own
// allocations go to the next allocator.
#include <pthread.h>
#include <sys/mman.h>

#include <mutex>
#include <unordered_map>

#include "alloc/page_map.hpp"
#include "shim.hpp"
#include "tier/heat.h"

namespace tier::preload {
namespace {

std::mutex g_mu;
// Held around every tier_region_register/unregister, and across fork. Registering takes the
// agent's epoch lock under it; libtier's fork handlers take that lock too, and this handler,
// registered after libtier's (the runtime exists before regions_init), takes its locks first.
std::mutex g_reg_mu;
std::unordered_map<uintptr_t, uint32_t> *g_table = nullptr;  // never freed (see shim.hpp)
std::atomic<uint64_t> g_live{0};
std::atomic<uint64_t> g_failed{0};
std::atomic<uint64_t> g_small{0};
// One bit per 2 MiB granule of the 47-bit address space (8 MiB of address space, reserved
// MAP_NORESERVE; only the words covering the program's placed granules are ever touched).
std::atomic<uint64_t> *g_small_bits = nullptr;
constexpr size_t kBitmapBytes = (size_t{1} << (alloc::kAddressBits - alloc::kGranuleShift)) / 8;

bool granule_aligned(const void *p) {
  return (reinterpret_cast<uintptr_t>(p) & (alloc::kGranule - 1)) == 0;
}

}  // namespace

void regions_init() {
  g_table = new std::unordered_map<uintptr_t, uint32_t>;
  void *bits = mmap(nullptr, kBitmapBytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (bits != MAP_FAILED) g_small_bits = static_cast<std::atomic<uint64_t> *>(bits);
  pthread_atfork(
      [] {
        g_reg_mu.lock();
        g_mu.lock();
      },
      [] {
        g_mu.unlock();
        g_reg_mu.unlock();
      },
      [] {
        g_mu.unlock();
        g_reg_mu.unlock();
      });
}

void region_added(tier_runtime *rt, void *p) {
  if (!granule_aligned(p)) return;
  size_t len = tier_usable_size(rt, p);
  if (len < alloc::kGranule) return;
  uint32_t id = 0;
  std::unique_lock<std::mutex> reg(g_reg_mu);
  if (tier_region_register(rt, p, len, TIER_GROUP_NONE, g_shim.region_flags, &id) != TIER_OK) {
    // Still placed and accounted, only not tracked (e.g. the chunk table is full).
    g_failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    std::lock_guard<std::mutex> lock(g_mu);
    (*g_table)[reinterpret_cast<uintptr_t>(p)] = id;
    g_live.fetch_add(1, std::memory_order_relaxed);
  } catch (const std::bad_alloc &) {
    tier_region_unregister(rt, id);
    g_failed.fetch_add(1, std::memory_order_relaxed);
  }
}

void region_removed(tier_runtime *rt, void *p) {
  if (!granule_aligned(p) || g_live.load(std::memory_order_relaxed) == 0) return;
  uint32_t id = 0;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_table->find(reinterpret_cast<uintptr_t>(p));
    if (it == g_table->end()) return;
    id = it->second;
    g_table->erase(it);
    g_live.fetch_sub(1, std::memory_order_relaxed);
  }
  // Outside the table lock: unregistering waits for an epoch in progress.
  std::lock_guard<std::mutex> reg(g_reg_mu);
  tier_region_unregister(rt, id);
}

void small_granule_placed(tier_runtime *rt, uintptr_t granule) {
  if (g_small_bits == nullptr || (granule >> alloc::kAddressBits) != 0) return;
  size_t index = granule >> alloc::kGranuleShift;
  uint64_t bit = uint64_t{1} << (index & 63);
  std::atomic<uint64_t> &word = g_small_bits[index >> 6];
  if (word.load(std::memory_order_relaxed) & bit) return;  // the common case: seen before
  if (word.fetch_or(bit, std::memory_order_relaxed) & bit) return;
  uint32_t id = 0;
  std::lock_guard<std::mutex> reg(g_reg_mu);
  if (tier_region_register(rt, reinterpret_cast<void *>(granule), alloc::kGranule, TIER_GROUP_NONE,
                           g_shim.region_flags, &id) == TIER_OK)
    g_small.fetch_add(1, std::memory_order_relaxed);
  else
    g_failed.fetch_add(1, std::memory_order_relaxed);
}

uint64_t regions_small() {
  return g_small.load(std::memory_order_relaxed);
}

uint64_t regions_live() {
  return g_live.load(std::memory_order_relaxed);
}
uint64_t regions_failed() {
  return g_failed.load(std::memory_order_relaxed);
}

void regions_where(tier_runtime *rt, tier_where_result *out) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_table == nullptr) return;
  for (const auto &[addr, id] : *g_table) {
    void *p = reinterpret_cast<void *>(addr);
    tier_where_result one{};
    one.size = sizeof one;
    if (tier_where(rt, p, tier_usable_size(rt, p), &one) != TIER_OK) continue;
    for (int i = 0; i < one.nentries; ++i) {
      int j = 0;
      while (j < out->nentries && out->entries[j].node != one.entries[i].node) ++j;
      if (j == out->nentries) {
        if (j == 64) continue;
        out->entries[out->nentries++] = tier_where_entry{one.entries[i].node, 0};
      }
      out->entries[j].bytes += one.entries[i].bytes;
    }
    out->not_resident += one.not_resident;
    out->unknown += one.unknown;
  }
}

}  // namespace tier::preload
