// pool_device.cpp - what every backend shares: extent mappings and the first-fit choice of
// free media for a grant (see pool_device.hpp).
#include "pool/pool_device.hpp"

#include <sys/mman.h>

#include <algorithm>

namespace tier::pool {

ExtentMapping::~ExtentMapping() {
  if (addr_) ::munmap(addr_, len_);
}

ExtentMapping::ExtentMapping(ExtentMapping &&o) noexcept : addr_(o.addr_), len_(o.len_) {
  o.addr_ = nullptr;
  o.len_ = 0;
}

ExtentMapping &ExtentMapping::operator=(ExtentMapping &&o) noexcept {
  if (this != &o) {
    if (addr_) ::munmap(addr_, len_);
    addr_ = o.addr_;
    len_ = o.len_;
    o.addr_ = nullptr;
    o.len_ = 0;
  }
  return *this;
}

Result<std::vector<Extent>> choose_free(const DeviceTable &table, uint64_t media_bytes,
                                        uint64_t alignment, uint64_t bytes, uint32_t max_extents,
                                        uint64_t max_extent_bytes) {
  if (bytes == 0 || max_extents == 0)
    return make_error(TIER_EINVAL, "a grant needs at least one byte in at least one extent");
  uint64_t want = (bytes + alignment - 1) / alignment * alignment;
  std::vector<std::pair<uint64_t, uint64_t>> used;
  for (const Extent &e : table.extents) used.emplace_back(e.offset, e.end());
  std::sort(used.begin(), used.end());
  std::vector<Extent> out;
  uint64_t at = 0, free_total = 0;
  const uint64_t cap = max_extent_bytes ? max_extent_bytes : UINT64_MAX;
  auto take = [&](uint64_t from, uint64_t to) -> Status {
    if (to <= from) return {};
    free_total += to - from;
    while (want != 0 && out.size() < max_extents && from < to) {
      Extent e;
      e.offset = from;
      e.length = std::min({want, to - from, cap});
      Result<Tag> tag = Tag::random();
      if (!tag) return std::move(tag).error();
      e.tag = *tag;
      want -= e.length;
      from += e.length;
      out.push_back(e);
    }
    return {};
  };
  for (const auto &[begin, end] : used) {
    if (Status st = take(at, begin); !st) return std::move(st).error();
    at = std::max(at, end);
  }
  if (Status st = take(at, media_bytes); !st) return std::move(st).error();
  if (want != 0)
    return make_error(TIER_ENOMEM, "the pool has " + format_size(free_total) + " free of " +
                                       format_size(media_bytes) + ", not " + format_size(bytes) +
                                       " in at most " + std::to_string(max_extents) + " extents");
  return out;
}

}  // namespace tier::pool
