// memory_io.hpp - the demo's real loads and stores on block and expert bytes.
//
// Writing fills every byte of the range and stamps the first word of each 4 KiB page with a
// value naming the content (a block's hash, an expert's id); reading loads that word of every
// page and checks the stamp. So every page of every touched object is really accessed, and a
// block or expert that lost or mixed up its bytes while Tier moved it is caught, while a
// 2-core machine keeps up (a read costs one cache line per page, 1/64 of the bytes).
// Thread-safety: plain functions over the caller's memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace serve_demo {

inline constexpr size_t kPage = 4096;

inline void write_stamped(void *addr, size_t bytes, uint64_t stamp) {
  auto *p = static_cast<unsigned char *>(addr);
  std::memset(p, static_cast<int>(stamp & 0xff), bytes);
  for (size_t off = 0; off + sizeof stamp <= bytes; off += kPage)
    std::memcpy(p + off, &stamp, sizeof stamp);
}

// Number of pages whose stamp is not `stamp` (0 = intact).
inline uint64_t check_stamped(const void *addr, size_t bytes, uint64_t stamp) {
  const auto *p = static_cast<const volatile unsigned char *>(addr);
  uint64_t bad = 0;
  for (size_t off = 0; off + sizeof stamp <= bytes; off += kPage) {
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof v; ++i) v |= uint64_t{p[off + i]} << (8 * i);
    bad += v != stamp;
  }
  return bad;
}

}  // namespace serve_demo
