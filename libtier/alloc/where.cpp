// where.cpp - tier_where: bytes of a range per node, from the kernel (move_pages query).
//
// On emulated topologies the kernel only sees the backing node, so a page inside one of this
// runtime's granules is attributed to the virtual node the page map recorded, and a page
// outside them (foreign memory) to the virtual node that stands for its physical node (the
// DRAM one, else the first backed by it). Pages never touched are `not_resident`, pages the
// kernel cannot report (unmapped, or a query error) `unknown`.
// Thread-safety: thread-safe; reads only.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "alloc/abi.hpp"
#include "alloc/runtime.hpp"
#include "prim/os.hpp"

using namespace tier;
using namespace tier::alloc;

namespace {

int virtual_for_physical(const tier_runtime *rt, int phys) {
  int first = -1;
  for (int s = 0; s < rt->nnodes; ++s) {
    const Node &n = rt->nodes[s].node;
    int backing = n.backing_node >= 0 ? n.backing_node : n.id;
    if (backing != phys) continue;
    if (n.kind == TIER_KIND_DRAM) return n.id;
    if (first < 0) first = n.id;
  }
  return first >= 0 ? first : phys;
}

void add(tier_where_result *out, int node, uint64_t bytes) {
  for (int i = 0; i < out->nentries; ++i) {
    if (out->entries[i].node == node) {
      out->entries[i].bytes += bytes;
      return;
    }
  }
  constexpr int kMax = sizeof out->entries / sizeof out->entries[0];
  if (out->nentries == kMax) {
    out->unknown += bytes;
    return;
  }
  out->entries[out->nentries++] = tier_where_entry{node, bytes};
}

// The mapped parts of [begin, end), from /proc/self/maps; false when it cannot be read.
bool mapped_spans(uintptr_t begin, uintptr_t end,
                  std::vector<std::pair<uintptr_t, uintptr_t>> *spans) {
  FILE *f = std::fopen("/proc/self/maps", "re");
  if (!f) return false;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx", &lo, &hi) != 2) continue;
    const uintptr_t a = std::max<uintptr_t>(lo, begin), b = std::min<uintptr_t>(hi, end);
    if (a < b) spans->emplace_back(a, b);
    // A line longer than the buffer: skip its rest.
    while (!std::strchr(line, '\n') && std::fgets(line, sizeof line, f)) {
    }
  }
  std::fclose(f);
  return true;
}

Status where_span(tier_runtime *rt, uintptr_t begin, uintptr_t end, tier_where_result *out);

// Ranges larger than this are first cut to their mapped parts (an unmapped page costs as much
// to query as a mapped one: 64 TiB of nothing took ten minutes); the gaps count as unknown.
constexpr uintptr_t kWalkDirectly = uintptr_t{1} << 30;

Status where(tier_runtime *rt, const void *ptr, size_t len, tier_where_result *out) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(ptr);
  const uintptr_t end = begin + len;
  if (end < begin) return make_error(TIER_EINVAL, "tier_where: range wraps around");
  std::vector<std::pair<uintptr_t, uintptr_t>> spans;
  if (len <= kWalkDirectly || !mapped_spans(begin, end, &spans))
    return where_span(rt, begin, end, out);
  uintptr_t covered = 0;
  for (const auto &[a, b] : spans) {
    if (Status st = where_span(rt, a, b, out); !st) return st;
    covered += b - a;
  }
  out->unknown += len - covered;  // not mapped: the kernel has nothing there to report
  return {};
}

Status where_span(tier_runtime *rt, uintptr_t begin, uintptr_t end, tier_where_result *out) {
  constexpr size_t kBatch = 1024;
  std::vector<void *> pages;
  std::vector<int> status(kBatch);
  pages.reserve(kBatch);
  PageMap *pm = PageMap::existing();
  const bool emulated = rt->topology.emulated;
  uintptr_t page = begin & ~(prim::kPageSize - 1);
  while (page < end) {
    pages.clear();
    for (uintptr_t p = page; p < end && pages.size() < kBatch; p += prim::kPageSize)
      pages.push_back(reinterpret_cast<void *>(p));
    Status st = prim::query_nodes(pages.data(), pages.size(), status.data());
    for (size_t i = 0; i < pages.size(); ++i) {
      uintptr_t p = reinterpret_cast<uintptr_t>(pages[i]);
      uint64_t bytes = std::min<uintptr_t>(p + prim::kPageSize, end) - std::max(p, begin);
      if (!st) {
        out->unknown += bytes;
        continue;
      }
      int s = status[i];
      if (s == -ENOENT) {
        out->not_resident += bytes;
      } else if (s < 0) {
        out->unknown += bytes;
      } else if (!emulated) {
        add(out, s, bytes);
      } else {
        Granule g = pm ? pm->get(pages[i]) : Granule{};
        if (g.runtime == rt->generation && g.kind != GranuleKind::kNone)
          add(out, rt->nodes[g.node_slot].node.id, bytes);
        else
          add(out, virtual_for_physical(rt, s), bytes);
      }
    }
    if (!st && st.status() == TIER_ENOSYS) return st;
    page += pages.size() * prim::kPageSize;
  }
  return {};
}

}  // namespace

extern "C" tier_status tier_where(tier_runtime *runtime, const void *ptr, size_t len,
                                  tier_where_result *out) {
  return guarded("tier_where", TIER_ENOMEM, [&] {
    if (runtime == nullptr) return set_last_error(TIER_EINVAL, "tier_where: runtime is NULL");
    if (out == nullptr) return set_last_error(TIER_EINVAL, "tier_where: out is NULL");
    if (out->size != sizeof(tier_where_result)) {
      return set_last_error(
          make_error(TIER_EINVAL, "tier_where: out->size = " + std::to_string(out->size) +
                                      ", expected " + std::to_string(sizeof(tier_where_result))));
    }
    if (ptr == nullptr && len > 0) return set_last_error(TIER_EINVAL, "tier_where: ptr is NULL");
    std::memset(reinterpret_cast<char *>(out) + sizeof out->size, 0,
                sizeof *out - sizeof out->size);
    Status st = where(runtime, ptr, len, out);
    return st ? TIER_OK : set_last_error(st.error());
  });
}
