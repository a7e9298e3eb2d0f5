// client_state.cpp - checks and heat bookkeeping of one client (see client_state.hpp).
// Event-loop thread only.
#include "client_state.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_set>

#include "heat/temperature.hpp"

namespace tier::daemon {

namespace dp = tier::daemon_proto;

ClientState::~ClientState() {
  if (shm) ::munmap(shm, shm_len);
  if (pidfd >= 0) ::close(pidfd);
}

Status attach_table(ClientState *c, int memfd) {
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{memfd};
  const int seals = ::fcntl(memfd, F_GET_SEALS);
  if (seals < 0) return make_error(TIER_EPROTO, "the table is not a memfd (F_GET_SEALS failed)");
  if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
    return make_error(TIER_EPROTO, "the table's memfd is not sealed against shrink and grow");
  struct stat st;
  if (::fstat(memfd, &st) != 0) return os_error("fstat of the table");
  const size_t want = dp::shm_bytes(c->capacity, c->max_requests);
  if (static_cast<uint64_t>(st.st_size) != want)
    return make_error(TIER_EPROTO, "the table has " + std::to_string(st.st_size) +
                                       " bytes; the hello implies " + std::to_string(want));
  void *map = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (map == MAP_FAILED) return os_error("mmap of the table");
  const auto *h = static_cast<const dp::ShmHeader *>(map);
  if (h->magic != dp::kShmMagic || h->version != dp::kVersion || h->capacity != c->capacity ||
      h->max_requests != c->max_requests || h->chunk_shift != c->chunk_shift) {
    ::munmap(map, want);
    return make_error(TIER_EPROTO, "the table's header does not match the hello");
  }
  c->shm = map;
  c->shm_len = want;
  return {};
}

Status add_region(ClientState *c, const dp::RegionMsg &m) {
  if (Status s = dp::check_region(m.base, m.length); !s) return s;
  if (m.region_id == 0) return make_error(TIER_EPROTO, "region id 0");
  if (c->regions.size() >= kMaxRegions)
    return make_error(TIER_EPROTO, "more than " + std::to_string(kMaxRegions) + " regions");
  for (const auto &[base, r] : c->regions)
    if (r.id == m.region_id)
      return make_error(TIER_EPROTO, "region id " + std::to_string(m.region_id) + " is taken");
  auto next = c->regions.lower_bound(m.base);
  if (next != c->regions.end() && next->first < m.base + m.length)
    return make_error(TIER_EPROTO, "region overlaps the one at " + std::to_string(next->first));
  if (next != c->regions.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.length > m.base)
      return make_error(TIER_EPROTO, "region overlaps the one at " + std::to_string(prev->first));
  }
  c->regions[m.base] = RegionEntry{m.length, m.region_id};
  c->region_generation = m.generation;
  return {};
}

Status remove_region(ClientState *c, const dp::RegionMsg &m) {
  for (auto it = c->regions.begin(); it != c->regions.end(); ++it)
    if (it->second.id == m.region_id) {
      const uint64_t lo = it->first, hi = it->first + it->second.length;
      c->regions.erase(it);
      std::erase_if(c->chunks, [&](const DaemonChunk &d) { return d.addr >= lo && d.addr < hi; });
      c->region_generation = m.generation;
      return {};
    }
  return make_error(TIER_EPROTO, "unknown region id " + std::to_string(m.region_id));
}

Status check_entries(const dp::ShmChunk *e, uint32_t n, const RegionMap &regions, unsigned shift,
                     const std::vector<int32_t> &nodes) {
  const uint64_t chunk = uint64_t{1} << shift;
  uint64_t prev_end = 0;
  uint32_t open_group = 0;
  std::unordered_set<uint32_t> closed_groups;
  auto where = [&](uint32_t i) { return "entry " + std::to_string(i) + ": "; };
  for (uint32_t i = 0; i < n; ++i) {
    const dp::ShmChunk &c = e[i];
    if (c.bytes == 0 || c.bytes > chunk)
      return make_error(TIER_EPROTO, where(i) + std::to_string(c.bytes) + " bytes");
    if (c.addr >= (uint64_t{1} << 47) || (c.addr >> shift) != ((c.addr + c.bytes - 1) >> shift))
      return make_error(TIER_EPROTO, where(i) + "crosses a chunk boundary or the address space");
    if (i > 0 && c.addr < prev_end)
      return make_error(TIER_EPROTO, where(i) + "not sorted or overlapping the previous entry");
    prev_end = c.addr + c.bytes;
    auto r = regions.upper_bound(c.addr);
    if (r == regions.begin() || (--r, c.addr + c.bytes > r->first + r->second.length))
      return make_error(TIER_EPROTO, where(i) + "range [" + std::to_string(c.addr) + ", +" +
                                         std::to_string(c.bytes) +
                                         ") is outside the client's registered regions");
    if (c.node != -1 && std::find(nodes.begin(), nodes.end(), c.node) == nodes.end())
      return make_error(TIER_EPROTO, where(i) + "unknown node " + std::to_string(c.node));
    if (c.flags & ~dp::kChunkPinned) return make_error(TIER_EPROTO, where(i) + "unknown flags");
    // The engine needs each object group's chunks adjacent: a group that reappears after
    // another one started would make the whole snapshot invalid for every client.
    if (c.group != open_group) {
      if (open_group) closed_groups.insert(open_group);
      if (c.group && closed_groups.count(c.group))
        return make_error(TIER_EPROTO,
                          where(i) + "group " + std::to_string(c.group) + " is not contiguous");
      open_group = c.group;
    }
  }
  return {};
}

TableRead read_table(ClientState *c, uint64_t epoch, heat::HeatClock &clock,
                     const std::vector<int32_t> &nodes, std::string *why) {
  auto *h = static_cast<dp::ShmHeader *>(c->shm);
  const dp::ShmChunk *src = dp::shm_chunks(c->shm, c->max_requests);
  // Reused between epochs and clients (event-loop thread only): no allocation per epoch.
  static thread_local std::vector<dp::ShmChunk> copy;
  bool consistent = false;
  uint64_t region_gen = 0;
  for (int attempt = 0; attempt < 4 && !consistent; ++attempt) {
    const uint32_t s1 = h->seq.load(std::memory_order_acquire);
    if (s1 & 1) continue;
    const uint32_t n = h->count.load(std::memory_order_relaxed);
    region_gen = h->region_generation.load(std::memory_order_relaxed);
    if (n > c->capacity) {
      *why = "table count " + std::to_string(n) + " exceeds its capacity " +
             std::to_string(c->capacity);
      c->chunks.clear();
      return TableRead::kRefused;
    }
    copy.resize(n);
    // An empty vector's data() may be null, and memcpy from or to null is undefined even
    // for 0 bytes (UBSan stops tierd there).
    if (n) std::memcpy(copy.data(), src, size_t{n} * sizeof(dp::ShmChunk));
    std::atomic_thread_fence(std::memory_order_acquire);
    consistent = h->seq.load(std::memory_order_relaxed) == s1;
  }
  h->daemon_epoch.store(epoch, std::memory_order_relaxed);
  if (!consistent || region_gen != c->region_generation) return TableRead::kUnchanged;
  if (Status s = check_entries(copy.data(), static_cast<uint32_t>(copy.size()), c->regions,
                               c->chunk_shift, nodes);
      !s) {
    *why = s.error().message;
    c->chunks.clear();
    return TableRead::kRefused;
  }
  // Merge by address: a chunk seen before keeps its heat; a new one starts from its current
  // counter, so what it saw before tierd knew it does not count as one burst.
  std::vector<DaemonChunk> &next = c->spare;
  next.clear();
  next.reserve(copy.size());
  size_t j = 0;
  for (const dp::ShmChunk &e : copy) {
    while (j < c->chunks.size() && c->chunks[j].addr < e.addr) ++j;
    DaemonChunk d;
    const bool known = j < c->chunks.size() && c->chunks[j].addr == e.addr;
    if (known)
      d = c->chunks[j];
    else
      d.seen = e.counts;
    d.addr = e.addr;
    d.bytes = e.bytes;
    d.node = e.node;
    d.group = e.group;
    d.pinned = e.flags & dp::kChunkPinned;
    const uint64_t delta = heat::counter_delta(e.counts, d.seen).total();
    d.seen = e.counts;
    d.accesses = static_cast<uint32_t>(std::min<uint64_t>(delta, UINT32_MAX));
    clock.fold(d, delta);
    next.push_back(d);
  }
  std::swap(c->chunks, c->spare);
  return TableRead::kUpdated;
}

}  // namespace tier::daemon
