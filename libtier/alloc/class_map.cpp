// class_map.cpp - reservation of the process-wide page -> size class map (see class_map.hpp).
//
// Thread-safety: instance() serialises the one-time creation; lookups and stores are atomic.
#include "alloc/class_map.hpp"

#include <mutex>

#include "prim/os.hpp"

namespace tier::alloc {

std::atomic<ClassMap *> ClassMap::g_map{nullptr};

ClassMap *ClassMap::instance() {
  if (ClassMap *m = g_map.load(std::memory_order_acquire)) return m;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (ClassMap *m = g_map.load(std::memory_order_acquire)) return m;
  constexpr size_t kBytes = size_t{1} << (kAddressBits - kPageShift);
  static_assert(sizeof(std::atomic<uint8_t>) == 1);
  // Untouched anonymous pages read as zero: "class unknown", which sends free to sallocx.
  auto mem = prim::map_aligned(kBytes, prim::kPageSize, /*noreserve=*/true);
  if (!mem) return nullptr;
  static ClassMap map(static_cast<std::atomic<uint8_t> *>(*mem));
  g_map.store(&map, std::memory_order_release);
  return &map;
}

}  // namespace tier::alloc
