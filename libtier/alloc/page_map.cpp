// page_map.cpp - reservation of the process-wide granule map (see page_map.hpp).
//
// Thread-safety: instance() serialises the one-time creation; see page_map.hpp for lookups.
#include "alloc/page_map.hpp"

#include <sys/mman.h>

#include <mutex>

#include "prim/os.hpp"

namespace tier::alloc {

std::atomic<PageMap *> PageMap::g_map{nullptr};

Result<PageMap *> PageMap::instance() {
  if (PageMap *m = g_map.load(std::memory_order_acquire)) return m;
  // Creation is rare (once per process); a mutex keeps it simple and lets a failed attempt
  // (address space exhausted) be retried later instead of being cached.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (PageMap *m = g_map.load(std::memory_order_acquire)) return m;
  constexpr size_t kEntries = size_t{1} << (kAddressBits - kGranuleShift);
  constexpr size_t kBytes = kEntries * sizeof(std::atomic<uint64_t>);
  static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t));
  // Untouched anonymous pages read as zero, which is the encoding of "no owner".
  auto mem = prim::map_aligned(kBytes, prim::kPageSize, /*noreserve=*/true);
  if (!mem) return std::move(mem).error().context("reserving the page map");
  static PageMap map(static_cast<std::atomic<uint64_t> *>(*mem));
  g_map.store(&map, std::memory_order_release);
  return &map;
}

void PageMap::set(const void *addr, size_t len, Granule g) {
  uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  uint64_t v = g.encode();
  size_t first = a >> kGranuleShift;
  size_t last = (a + len - 1) >> kGranuleShift;
  for (size_t i = first; i <= last; ++i) entries_[i].store(v, std::memory_order_release);
}

void PageMap::set_one(const void *addr, Granule g) {
  entries_[reinterpret_cast<uintptr_t>(addr) >> kGranuleShift].store(g.encode(),
                                                                     std::memory_order_release);
}

}  // namespace tier::alloc
