// chunk_table.hpp - registered memory regions, split into chunks that carry access heat.
//
// A region (a large allocation, a KV-cache pool, a set of expert weights) is registered with
// its base, length, owner and the node it was placed on. It is split into chunks on
// chunk-size-aligned address windows (2 MiB by default, any power of two from 4 KiB to 1 GiB),
// so a chunk is also the unit a mover hands to move_pages(2). Chunks of a region get
// contiguous slot ids; a slot id is the chunk id the placement engine and movers use.
// An object group (one KV block, one expert) is a run of whole chunks of one region that is
// touched and moved as one.
//
// Thread-safety:
//  - touch(), touch_group(), find(), pin()/unpin() are lock-free and may run on any thread at
//    any time, concurrently with registration. Address lookup is a two-level radix table over
//    the 47-bit user address space: two dependent loads, no hashing, giving the slot id.
//  - A touch adds to the calling thread's counter stripe (heat/touch_stripes.hpp) with a plain
//    add; a chunk's access count is counts(slot), its shared counter plus its stripes.
//  - register/unregister/define_group/release_group take an exclusive lock; scan() holds a
//    shared lock for its whole pass, so the heat state a scan updates is only ever written by
//    one scanner at a time.
//  - Slots and radix leaves are never freed while the table lives (they are recycled), so a
//    touch that races with an unregister is memory-safe; it may credit a recycled chunk once,
//    which heat tolerates. Touching memory after unregistering it is a caller error anyway.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <vector>

#include "common/result.hpp"
#include "heat/touch_stripes.hpp"

namespace tier::heat {

using RegionId = uint32_t;  // 0 is never a valid region
using GroupId = uint32_t;   // 0 = no group (the chunk moves alone)
using SlotId = uint32_t;    // chunk id

struct ChunkTableOptions {
  unsigned chunk_shift = 21;         // log2 of the chunk size: 21 = 2 MiB (12 .. 30)
  uint64_t max_chunks = 1ull << 24;  // slots the table may hold (16M = 32 TiB at 2 MiB)
};

struct RegionSpec {
  const void *base = nullptr;
  size_t length = 0;
  uint32_t owner = 0;      // process / client the region belongs to
  int32_t node = -1;       // node the region was placed on (-1 = unknown)
  bool pinned = false;     // its chunks start pinned (never moved)
  bool one_group = false;  // the whole region is one object group
};

// One chunk. 64 bytes, one cache line, so that threads touching neighbouring chunks do not
// share a line.
struct alignas(64) Chunk {
  // The shared part of the access count, reads in the low 32 bits, writes in the high 32:
  // touches from threads without a counter stripe add here with one fetch_add that counts
  // both. The count is this plus the chunk's stripe counters (ChunkTable::counts), taken
  // modulo 2^64; at registration this is set so that the sum starts at zero. The scanner
  // takes deltas of the sum modulo 2^32 and removes the carry a wrapping reads half puts into
  // the writes half.
  std::atomic<uint64_t> counts{0};
  std::atomic<int32_t> node{-1};
  std::atomic<uint32_t> pins{0};             // > 0 = pinned
  std::atomic<uint32_t> last_move_epoch{0};  // 0 = never moved
  // Identity (region, addr, group): set under the exclusive lock, read under the shared one.
  uint32_t region = 0;  // 0 = free slot
  uint64_t addr = 0;    // first byte of the chunk that belongs to the region
  // Heat state: written only by the epoch's scanner (epoch/table_source.hpp) under the
  // shared lock.
  uint64_t seen = 0;   // `counts` at the last scan
  uint64_t total = 0;  // accesses since registration
  GroupId group = 0;   // (identity; placed here to keep the line at 64 bytes)
  float temperature = 0;
  uint32_t history = 0;  // bit i = accessed i scans ago
  uint32_t last_access_epoch = 0;
};
static_assert(sizeof(Chunk) == 64, "a chunk is one cache line");

struct RegionInfo {
  RegionId id = 0;
  uintptr_t base = 0;
  size_t length = 0;
  uint32_t owner = 0;
  SlotId first_slot = 0;
  uint32_t chunks = 0;
};

class ChunkTable {
 public:
  explicit ChunkTable(const ChunkTableOptions &options = {});
  ~ChunkTable();
  ChunkTable(const ChunkTable &) = delete;
  ChunkTable &operator=(const ChunkTable &) = delete;

  // Validates options (chunk_shift in 12..30, max_chunks > 0); TIER_ECONFIG otherwise.
  static Result<std::unique_ptr<ChunkTable>> create(const ChunkTableOptions &options);

  uint64_t chunk_size() const { return uint64_t{1} << shift_; }
  unsigned chunk_shift() const { return shift_; }

  // Registers [base, base+length). TIER_EINVAL for an empty or out-of-range span, TIER_EBUSY
  // when a chunk window of it is already owned by another region, TIER_ENOMEM when the table
  // is out of slots.
  Result<RegionId> register_region(const RegionSpec &spec);
  // Forgets a region and every group inside it. TIER_EINVAL for an unknown id.
  Status unregister_region(RegionId id);

  // Makes the chunks covering [ptr, ptr+len) one object group. They must lie in one region
  // and belong to no other group (TIER_EINVAL / TIER_EBUSY otherwise).
  Result<GroupId> define_group(const void *ptr, size_t len);
  Status release_group(GroupId group);

  // Credits `reads` and `writes` accesses to every chunk [ptr, ptr+len) touches (len 0 counts
  // as 1 byte). Untracked addresses are ignored. Lock-free, no locked instruction while the
  // thread has a stripe; a few ns for one chunk.
  // A range wider than kWideTouchWindows windows is walked region by region instead (bounded by
  // the registered chunks, whatever the length: tier_touch(rt, NULL, SIZE_MAX) returns at once).
  void touch(const void *ptr, size_t len, uint32_t reads, uint32_t writes) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(ptr);
    const uintptr_t end = len && a + len - 1 >= a ? a + len - 1 : (len ? UINTPTR_MAX : a);
    const uintptr_t first = a >> shift_;
    const uintptr_t last = end >> shift_;
    const uint64_t add = uint64_t{reads} | (uint64_t{writes} << 32);
    if (last - first >= kWideTouchWindows) return touch_wide(first, last, add);
    for (uintptr_t c = first; c <= last; ++c)
      if (const uint32_t s = lookup_slot1(c)) credit(s - 1, add);
  }
  // Credits an object group's accesses to its first chunk: O(1) whatever the object's size.
  // The engine sums the heat of a group's chunks, so where inside the group it lands does not
  // matter. Unknown or released groups are ignored.
  void touch_group(GroupId group, uint32_t reads, uint32_t writes) {
    if (group == 0 || group >= max_chunks_) return;
    const std::atomic<uint64_t> *seg =
        group_segs_[group >> kSegmentBits].load(std::memory_order_acquire);
    if (!seg) return;
    const uint64_t g = seg[group & ((1u << kSegmentBits) - 1)].load(std::memory_order_acquire);
    if (g == 0) return;
    credit(static_cast<SlotId>(g >> 32), uint64_t{reads} | (uint64_t{writes} << 32));
  }

  // A live chunk's access count since registration (reads low, writes high, modulo 2^64):
  // its shared counter plus its stripe counters. Lock-free; what the scanner and tierd read.
  uint64_t counts(SlotId slot) const {
    const Chunk *c = slot_chunk_unlocked(slot);
    return (c ? c->counts.load(std::memory_order_relaxed) : 0) + stripes_.sum(slot);
  }
  // The same for the chunk holding `ptr`; 0 for untracked memory.
  uint64_t counts_at(const void *ptr) const {
    const uint32_t s = lookup_slot1(reinterpret_cast<uintptr_t>(ptr) >> shift_);
    return s ? counts(s - 1) : 0;
  }
  // Bytes the counter stripes take now (see touch_stripes.hpp for the bound).
  size_t stripe_bytes() const { return stripes_.bytes(); }

  // The chunk holding `ptr`, or nullptr. Lock-free.
  Chunk *find(const void *ptr) const {
    return lookup_window(reinterpret_cast<uintptr_t>(ptr) >> shift_);
  }

  // Pins or unpins every chunk of [ptr, ptr+len) (counted: n pins need n unpins).
  void pin(const void *ptr, size_t len);
  void unpin(const void *ptr, size_t len);

  // After a mover has moved a chunk: its new node and the epoch of the move.
  void record_move(SlotId slot, int32_t node, uint64_t epoch);
  // Address and byte length of a live chunk (for movers); TIER_EINVAL for a free slot.
  struct Span {
    uintptr_t addr;
    size_t bytes;
  };
  Result<Span> chunk_span(SlotId slot) const;

  // Calls fn(SlotId, Chunk&, const RegionInfo&, size_t chunk_bytes) for every live chunk, in
  // region order then address order (so a group's chunks are adjacent), under the shared lock.
  template <class Fn>
  void scan(Fn &&fn) {
    std::shared_lock lock(mutex_);
    for (const RegionInfo &r : regions_) {
      if (r.id == 0) continue;
      const uintptr_t end = r.base + r.length;
      for (uint32_t i = 0; i < r.chunks; ++i) {
        const SlotId slot = r.first_slot + i;
        Chunk &c = slot_chunk(slot);
        const uintptr_t window_end = ((c.addr >> shift_) + 1) << shift_;
        fn(slot, c, r, static_cast<size_t>((window_end < end ? window_end : end) - c.addr));
      }
    }
  }

  size_t region_count() const;
  size_t chunk_count() const;  // live chunks

 private:
  static constexpr unsigned kAddressBits = 47;  // x86-64 / arm64 user space, 4-level paging
  static constexpr unsigned kTopBits = 18;      // 2^18 top entries (2 MiB of pointers)
  static constexpr unsigned kSegmentBits = 16;  // chunk slots are allocated 64K at a time

  // Slot id + 1 of the chunk owning an address window, 0 = none. A leaf entry is published
  // (release) after its chunk and the chunk's segment are set up.
  uint32_t lookup_slot1(uintptr_t window) const {
    if (window >> (top_bits_ + leaf_bits_)) return 0;
    const std::atomic<uint32_t> *leaf = top_[window >> leaf_bits_].load(std::memory_order_acquire);
    if (!leaf) return 0;
    return leaf[window & leaf_mask_].load(std::memory_order_acquire);
  }
  Chunk *lookup_window(uintptr_t window) const {
    const uint32_t s = lookup_slot1(window);
    return s ? slot_chunk_unlocked(s - 1) : nullptr;
  }
  static constexpr uintptr_t kWideTouchWindows = 4096;
  void touch_wide(uintptr_t first, uintptr_t last, uint64_t add);
  // One touch's worth of counts to a slot the lookup (or the group table) gave.
  void credit(SlotId slot, uint64_t add) {
    if (stripes_.add(slot, add)) return;
    if (Chunk *chunk = slot_chunk_unlocked(slot))
      chunk->counts.fetch_add(add, std::memory_order_relaxed);
  }
  Chunk &slot_chunk(SlotId slot) const {
    return segments_[slot >> kSegmentBits][slot & ((1u << kSegmentBits) - 1)];
  }
  // For touch_group(): segment pointers are published with release before a group can name
  // one of their slots, and never change afterwards.
  Chunk *slot_chunk_unlocked(SlotId slot) const {
    Chunk *seg = segment_ptrs_[slot >> kSegmentBits].load(std::memory_order_acquire);
    return seg ? &seg[slot & ((1u << kSegmentBits) - 1)] : nullptr;
  }

  Result<SlotId> allocate_slots(uint32_t count);                   // exclusive lock held
  void free_slots(SlotId first, uint32_t count);                   // exclusive lock held
  std::atomic<uint32_t> *leaf_for(uintptr_t window, bool create);  // exclusive lock held
  void set_groups_of(const RegionInfo &r, GroupId from, GroupId to);
  void apply_pins(const void *ptr, size_t len, int delta);

  unsigned shift_;
  unsigned leaf_bits_, top_bits_;
  uintptr_t leaf_mask_;
  uint64_t max_chunks_;

  // Radix table: leaves hold slot id + 1 (0 = no chunk), half the size of pointers.
  std::unique_ptr<std::atomic<std::atomic<uint32_t> *>[]> top_;
  std::vector<std::unique_ptr<std::atomic<uint32_t>[]>> leaves_;  // owned; never freed early
  std::vector<std::unique_ptr<Chunk[]>> segments_;
  std::unique_ptr<std::atomic<Chunk *>[]> segment_ptrs_;  // same as segments_, lock-free view
  TouchStripes stripes_;                                  // per-thread touch counters

  mutable std::shared_mutex mutex_;
  std::vector<RegionInfo> regions_;  // index = RegionId - 1; id 0 = free entry
  std::vector<RegionId> free_regions_;
  std::map<SlotId, uint32_t> free_ranges_;  // first slot -> count
  SlotId slot_high_ = 0;                    // slots [0, slot_high_) have been handed out once
  size_t live_chunks_ = 0;
  // Group table, segmented like the slots so touch_group() reads it without a lock: entry =
  // (first slot << 32) | chunk count, 0 = free. A group has at least one chunk, so group ids
  // stay below max_chunks.
  std::unique_ptr<std::atomic<std::atomic<uint64_t> *>[]> group_segs_;
  std::vector<std::unique_ptr<std::atomic<uint64_t>[]>> group_storage_;
  std::atomic<uint64_t> &group_entry(GroupId g) const {
    return group_segs_[g >> kSegmentBits].load(
        std::memory_order_relaxed)[g & ((1u << kSegmentBits) - 1)];
  }
  std::vector<GroupId> free_groups_;
  GroupId group_high_ = 1;
};

}  // namespace tier::heat
