// page_map.hpp - which runtime, placement and node own each 2 MiB granule of the address space.
//
// One flat array of 64-bit entries indexed by (address >> 21) over the 47-bit user address
// space (2^26 entries, 512 MiB of virtual memory mapped MAP_NORESERVE; only the pages that
// cover Tier's own chunks are ever touched). It answers, in O(1) and without locks or
// allocation: does this runtime own the pointer (tier_owns, the LD_PRELOAD shim's free
// routing), is it a small (jemalloc) or large (chunk run) allocation, which placement's
// tcache takes it back, and which node the granule was placed on (tier_where and accounting
// on emulated topologies, where the kernel only sees the backing node).
//
// Entries carry the runtime's generation number, so stale entries of a destroyed runtime never
// match a live one. The map is process-wide, shared by all runtimes.
//
// Thread-safety: lookups are relaxed atomic loads and may run concurrently with set/clear;
// a granule is only set by the thread that has just mapped it and cleared by the one about
// to unmap it, so there is no read-modify-write race on one entry.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/result.hpp"

namespace tier::alloc {

inline constexpr unsigned kGranuleShift = 21;
inline constexpr size_t kGranule = size_t{1} << kGranuleShift;
inline constexpr unsigned kAddressBits = 47;

enum class GranuleKind : uint8_t {
  kNone = 0,
  kSmall = 1,      // backs jemalloc extents of a placement's arena
  kLargeHead = 2,  // first granule of a large allocation (its address is the allocation)
  kLargeBody = 3,  // further granules of a large allocation, or a cached run
  kCached = 4,     // a large run parked in the chunk cache (not allocated)
};

struct Granule {
  uint32_t runtime = 0;  // runtime generation, 0 = none
  uint16_t placement = 0;
  uint8_t node_slot = 0;  // index into the runtime's nodes (tier order)
  GranuleKind kind = GranuleKind::kNone;

  static Granule decode(uint64_t v) {
    return Granule{static_cast<uint32_t>(v >> 32), static_cast<uint16_t>(v >> 16),
                   static_cast<uint8_t>(v >> 8), static_cast<GranuleKind>(v & 0xff)};
  }
  uint64_t encode() const {
    return (uint64_t{runtime} << 32) | (uint64_t{placement} << 16) | (uint64_t{node_slot} << 8) |
           static_cast<uint64_t>(kind);
  }
};

class PageMap {
 public:
  // The process-wide map, mapped on first use. An error only when the 512 MiB reservation
  // fails (address space exhausted or a strict overcommit policy).
  static Result<PageMap *> instance();
  // The map if it already exists, else nullptr (for lookups that must not create it).
  static PageMap *existing() { return g_map.load(std::memory_order_acquire); }

  Granule get(const void *p) const {
    uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (a >> kAddressBits) return {};
    return Granule::decode(entries_[a >> kGranuleShift].load(std::memory_order_acquire));
  }
  // Sets every granule of [addr, addr + len) (granule-aligned) to `g`.
  void set(const void *addr, size_t len, Granule g);
  void clear(const void *addr, size_t len) { set(addr, len, Granule{}); }

  // Sets granule `index` of the run at `addr` (used for per-run nodes of an interleave).
  void set_one(const void *addr, Granule g);

 private:
  explicit PageMap(std::atomic<uint64_t> *entries) : entries_(entries) {}
  std::atomic<uint64_t> *entries_;
  static std::atomic<PageMap *> g_map;
};

}  // namespace tier::alloc
