// class_map.hpp - the magazine size class of every 4 KiB page of Tier's small runs, so that
// tier_free learns a block's class (and so its usable size) with one load instead of a call
// into jemalloc (sallocx: a function call, a TSD fetch and an rtree walk per free).
//
// One byte per page over the 47-bit user address space (2^35 bytes of virtual memory mapped
// MAP_NORESERVE; a page of the map covers 16 MiB, so only pages over Tier's small runs are
// ever touched). A byte holds the magazine class + 1 of the jemalloc extent that covers the
// page, or 0 when the extent is not a magazine class (above 4 KiB) or was never recorded.
//
// Why it is exact: every block jemalloc hands to Tier passes through set() (magazine refill,
// the direct mallocx path, rallocx) before the caller sees it. While a block is live, its
// extent owns the page and its size class does not change, so every set() on that page writes
// the same value; a set() for an earlier extent on the page happened before the block was
// handed out (jemalloc's own synchronisation orders the earlier block's free before the page's
// reuse), and the caller's hand-off of the pointer orders our set() before any free.
//
// Optional: if the reservation fails (strict overcommit, RLIMIT_AS) the map stays absent and
// free falls back to sallocx. Thread-safety: relaxed atomic bytes; concurrent writers of one
// byte write the same value.
#pragma once

#include <atomic>
#include <cstdint>

namespace tier::alloc {

class ClassMap {
 public:
  static constexpr unsigned kPageShift = 12;
  static constexpr unsigned kAddressBits = 47;

  // Reserves the map once per process; nullptr (and a later retry) if that fails.
  static ClassMap *instance();
  static ClassMap *existing() { return g_map.load(std::memory_order_acquire); }

  // Class + 1 of the block at `p` (an address below 2^47), or 0 when unknown.
  unsigned get(const void *p) const {
    return entries_[reinterpret_cast<uintptr_t>(p) >> kPageShift].load(std::memory_order_relaxed);
  }
  // Records `cls_plus1` for the page of `p`. Skips the store when the byte already holds it,
  // so threads allocating from neighbouring pages do not keep stealing the map's cache line.
  void set(const void *p, unsigned cls_plus1) {
    std::atomic<uint8_t> &e = entries_[reinterpret_cast<uintptr_t>(p) >> kPageShift];
    if (e.load(std::memory_order_relaxed) != cls_plus1)
      e.store(static_cast<uint8_t>(cls_plus1), std::memory_order_relaxed);
  }

 private:
  explicit ClassMap(std::atomic<uint8_t> *entries) : entries_(entries) {}
  std::atomic<uint8_t> *entries_;
  static std::atomic<ClassMap *> g_map;
};

}  // namespace tier::alloc
