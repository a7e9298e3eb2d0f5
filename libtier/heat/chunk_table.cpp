// chunk_table.cpp - region registration, slot allocation and groups of the chunk table.
//
// Everything here runs under the table's exclusive lock except pin/unpin/record_move, which
// only touch atomics of chunks reached through lock-free paths (see chunk_table.hpp).
#include "heat/chunk_table.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <set>

namespace tier::heat {

namespace {
constexpr unsigned kMinShift = 12, kMaxShift = 30;

std::string hex(uintptr_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(v));
  return buf;
}
}  // namespace

ChunkTable::ChunkTable(const ChunkTableOptions &options)
    : shift_(std::clamp(options.chunk_shift, kMinShift, kMaxShift)),
      max_chunks_(std::clamp<uint64_t>(options.max_chunks, 1, UINT32_MAX)),
      stripes_(max_chunks_) {
  // Keep the top level at 2^18 entries whatever the chunk size; leaves take the rest.
  leaf_bits_ = kAddressBits - shift_ > kTopBits ? kAddressBits - shift_ - kTopBits : 0;
  top_bits_ = kAddressBits - shift_ - leaf_bits_;
  leaf_mask_ = (uintptr_t{1} << leaf_bits_) - 1;
  top_ = std::make_unique<std::atomic<std::atomic<uint32_t> *>[]>(size_t{1} << top_bits_);
  const size_t nsegs = (max_chunks_ + (1u << kSegmentBits) - 1) >> kSegmentBits;
  segment_ptrs_ = std::make_unique<std::atomic<Chunk *>[]>(nsegs);
  group_segs_ = std::make_unique<std::atomic<std::atomic<uint64_t> *>[]>(nsegs);
}

ChunkTable::~ChunkTable() = default;

Result<std::unique_ptr<ChunkTable>> ChunkTable::create(const ChunkTableOptions &options) {
  if (options.chunk_shift < kMinShift || options.chunk_shift > kMaxShift)
    return make_error(TIER_ECONFIG, "chunk table: chunk_shift " +
                                        std::to_string(options.chunk_shift) +
                                        " is outside 12..30 (4 KiB .. 1 GiB chunks)");
  if (options.max_chunks == 0 || options.max_chunks > UINT32_MAX)
    return make_error(TIER_ECONFIG, "chunk table: max_chunks " +
                                        std::to_string(options.max_chunks) +
                                        " must be in 1 .. 2^32-1");
  return std::make_unique<ChunkTable>(options);
}

std::atomic<uint32_t> *ChunkTable::leaf_for(uintptr_t window, bool create) {
  auto &slot = top_[window >> leaf_bits_];
  std::atomic<uint32_t> *leaf = slot.load(std::memory_order_relaxed);
  if (!leaf && create) {
    leaves_.push_back(std::make_unique<std::atomic<uint32_t>[]>(size_t{1} << leaf_bits_));
    leaf = leaves_.back().get();
    // Release: a reader that sees the leaf sees it zeroed.
    slot.store(leaf, std::memory_order_release);
  }
  return leaf ? leaf + (window & leaf_mask_) : nullptr;
}

Result<SlotId> ChunkTable::allocate_slots(uint32_t count) {
  for (auto it = free_ranges_.begin(); it != free_ranges_.end(); ++it) {
    if (it->second < count) continue;
    const SlotId first = it->first;
    const uint32_t left = it->second - count;
    free_ranges_.erase(it);
    if (left) free_ranges_.emplace(first + count, left);
    return first;
  }
  if (slot_high_ + uint64_t{count} > max_chunks_)
    return make_error(TIER_ENOMEM, "chunk table full: " + std::to_string(live_chunks_) +
                                       " chunks live, " + std::to_string(count) +
                                       " more do not fit in max_chunks " +
                                       std::to_string(max_chunks_));
  const SlotId first = slot_high_;
  slot_high_ += count;
  while ((segments_.size() << kSegmentBits) < slot_high_) {
    const size_t seg = segments_.size();
    segments_.push_back(std::make_unique<Chunk[]>(size_t{1} << kSegmentBits));
    segment_ptrs_[seg].store(segments_.back().get(), std::memory_order_release);
    group_storage_.push_back(std::make_unique<std::atomic<uint64_t>[]>(size_t{1} << kSegmentBits));
    group_segs_[seg].store(group_storage_.back().get(), std::memory_order_release);
  }
  return first;
}

void ChunkTable::free_slots(SlotId first, uint32_t count) {
  auto [it, inserted] = free_ranges_.emplace(first, count);
  (void)inserted;
  auto next = std::next(it);
  if (next != free_ranges_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_ranges_.erase(next);
  }
  if (it != free_ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_ranges_.erase(it);
    }
  }
}

void ChunkTable::touch_wide(uintptr_t first, uintptr_t last, uint64_t add) {
  // Only registered windows can be credited: walk the regions that meet [first, last].
  std::shared_lock lock(mutex_);
  for (const RegionInfo &r : regions_) {
    if (r.id == 0) continue;
    const uintptr_t r_first = r.base >> shift_, r_last = (r.base + r.length - 1) >> shift_;
    if (r_last < first || r_first > last) continue;
    for (uintptr_t w = std::max(first, r_first); w <= std::min(last, r_last); ++w)
      if (const uint32_t s = lookup_slot1(w)) credit(s - 1, add);
  }
}

Result<RegionId> ChunkTable::register_region(const RegionSpec &spec) {
  const uintptr_t base = reinterpret_cast<uintptr_t>(spec.base);
  if (!spec.base || spec.length == 0)
    return make_error(TIER_EINVAL, "register region: empty span at " + hex(base));
  const uintptr_t end = base + spec.length;
  if (end < base || (end - 1) >> kAddressBits)
    return make_error(TIER_EINVAL, "register region [" + hex(base) + ", +" +
                                       std::to_string(spec.length) +
                                       "): outside the 47-bit user address space");
  const uintptr_t first = base >> shift_, last = (end - 1) >> shift_;
  const uint64_t n = last - first + 1;
  if (n > UINT32_MAX) return make_error(TIER_EINVAL, "register region: too many chunks");

  std::unique_lock lock(mutex_);
  for (uintptr_t w = first; w <= last; ++w)
    if (Chunk *c = lookup_window(w))
      return make_error(TIER_EBUSY, "register region [" + hex(base) + ", +" +
                                        std::to_string(spec.length) + "): chunk at " +
                                        hex(w << shift_) + " already belongs to region " +
                                        std::to_string(c->region));
  auto slots = allocate_slots(static_cast<uint32_t>(n));
  if (!slots) return std::move(slots).error();

  RegionId id;
  if (!free_regions_.empty()) {
    id = free_regions_.back();
    free_regions_.pop_back();
  } else {
    regions_.emplace_back();
    id = static_cast<RegionId>(regions_.size());
  }
  RegionInfo &r = regions_[id - 1];
  r = RegionInfo{id, base, spec.length, spec.owner, *slots, static_cast<uint32_t>(n)};

  for (uint32_t i = 0; i < n; ++i) {
    Chunk &c = slot_chunk(r.first_slot + i);
    const uintptr_t window_start = (first + i) << shift_;
    // A reused slot keeps what its stripes counted before (their writers cannot be stopped to
    // reset them): start the shared part at minus that, so counts() starts at zero.
    c.counts.store(0 - stripes_.sum(r.first_slot + i), std::memory_order_relaxed);
    c.node.store(spec.node, std::memory_order_relaxed);
    c.pins.store(spec.pinned ? 1 : 0, std::memory_order_relaxed);
    c.last_move_epoch.store(0, std::memory_order_relaxed);
    c.region = id;
    c.addr = std::max(base, window_start);
    c.group = 0;
    c.seen = c.total = 0;
    c.temperature = 0;
    c.history = c.last_access_epoch = 0;
  }
  for (uint32_t i = 0; i < n; ++i)
    leaf_for(first + i, true)->store(r.first_slot + i + 1, std::memory_order_release);
  live_chunks_ += n;
  lock.unlock();

  if (spec.one_group) {
    auto g = define_group(spec.base, spec.length);
    if (!g) {
      (void)unregister_region(id);
      return std::move(g).error();
    }
  }
  return id;
}

Status ChunkTable::unregister_region(RegionId id) {
  std::unique_lock lock(mutex_);
  if (id == 0 || id > regions_.size() || regions_[id - 1].id != id)
    return make_error(TIER_EINVAL, "unregister region: no region " + std::to_string(id));
  RegionInfo r = regions_[id - 1];
  for (uint32_t i = 0; i < r.chunks; ++i) {
    Chunk &c = slot_chunk(r.first_slot + i);
    if (c.group) {
      group_entry(c.group).store(0, std::memory_order_release);
      free_groups_.push_back(c.group);
      // Chunks of one group are adjacent: clear them all now so the id is freed once.
      const GroupId g = c.group;
      for (uint32_t j = i; j < r.chunks && slot_chunk(r.first_slot + j).group == g; ++j)
        slot_chunk(r.first_slot + j).group = 0;
    }
    leaf_for(c.addr >> shift_, false)->store(0, std::memory_order_release);
    c.region = 0;
  }
  free_slots(r.first_slot, r.chunks);
  live_chunks_ -= r.chunks;
  regions_[id - 1].id = 0;
  free_regions_.push_back(id);
  return {};
}

Result<GroupId> ChunkTable::define_group(const void *ptr, size_t len) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(ptr);
  if (!ptr || len == 0) return make_error(TIER_EINVAL, "define group: empty span");
  const uintptr_t first = a >> shift_, last = (a + len - 1) >> shift_;
  std::unique_lock lock(mutex_);
  Chunk *head = lookup_window(first);
  if (!head)
    return make_error(TIER_EINVAL, "define group at " + hex(a) + ": not in a registered region");
  const RegionInfo &r = regions_[head->region - 1];
  if (a + len > r.base + r.length)
    return make_error(TIER_EINVAL, "define group [" + hex(a) + ", +" + std::to_string(len) +
                                       "): runs past the end of its region");
  const SlotId first_slot = r.first_slot + static_cast<SlotId>(first - (r.base >> shift_));
  const uint32_t count = static_cast<uint32_t>(last - first + 1);
  for (uint32_t i = 0; i < count; ++i)
    if (slot_chunk(first_slot + i).group)
      return make_error(TIER_EBUSY, "define group at " + hex(a) + ": chunk " +
                                        hex((first + i) << shift_) + " is already in group " +
                                        std::to_string(slot_chunk(first_slot + i).group));
  GroupId g;
  if (!free_groups_.empty()) {
    g = free_groups_.back();
    free_groups_.pop_back();
  } else {
    g = group_high_++;  // < max_chunks_: every group holds a distinct live chunk
  }
  for (uint32_t i = 0; i < count; ++i) slot_chunk(first_slot + i).group = g;
  group_entry(g).store((uint64_t{first_slot} << 32) | count, std::memory_order_release);
  return g;
}

Status ChunkTable::release_group(GroupId group) {
  std::unique_lock lock(mutex_);
  if (group == 0 || group >= group_high_ || group_entry(group).load() == 0)
    return make_error(TIER_EINVAL, "release group: no group " + std::to_string(group));
  const uint64_t e = group_entry(group).load();
  const SlotId first = static_cast<SlotId>(e >> 32);
  for (uint32_t i = 0; i < static_cast<uint32_t>(e); ++i) slot_chunk(first + i).group = 0;
  group_entry(group).store(0, std::memory_order_release);
  free_groups_.push_back(group);
  return {};
}

void ChunkTable::apply_pins(const void *ptr, size_t len, int delta) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(ptr);
  const uintptr_t last = (a + (len ? len - 1 : 0)) >> shift_;
  for (uintptr_t w = a >> shift_; w <= last; ++w) {
    Chunk *c = lookup_window(w);
    if (!c) continue;
    if (delta > 0) {
      c->pins.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Never below zero: an unbalanced unpin must not wrap into "pinned forever".
      uint32_t p = c->pins.load(std::memory_order_relaxed);
      while (p && !c->pins.compare_exchange_weak(p, p - 1, std::memory_order_relaxed)) {
      }
    }
  }
}

void ChunkTable::pin(const void *ptr, size_t len) {
  apply_pins(ptr, len, +1);
}
void ChunkTable::unpin(const void *ptr, size_t len) {
  apply_pins(ptr, len, -1);
}

void ChunkTable::record_move(SlotId slot, int32_t node, uint64_t epoch) {
  if (slot >= max_chunks_) return;
  if (Chunk *c = slot_chunk_unlocked(slot)) {
    c->node.store(node, std::memory_order_relaxed);
    c->last_move_epoch.store(static_cast<uint32_t>(epoch), std::memory_order_relaxed);
  }
}

Result<ChunkTable::Span> ChunkTable::chunk_span(SlotId slot) const {
  std::shared_lock lock(mutex_);
  if (slot >= slot_high_ || slot_chunk(slot).region == 0)
    return make_error(TIER_EINVAL, "chunk " + std::to_string(slot) + " is not live");
  const Chunk &c = slot_chunk(slot);
  const RegionInfo &r = regions_[c.region - 1];
  const uintptr_t window_end = ((c.addr >> shift_) + 1) << shift_;
  const uintptr_t end = std::min(window_end, r.base + r.length);
  return Span{c.addr, static_cast<size_t>(end - c.addr)};
}

size_t ChunkTable::region_count() const {
  std::shared_lock lock(mutex_);
  return regions_.size() - free_regions_.size();
}

size_t ChunkTable::chunk_count() const {
  std::shared_lock lock(mutex_);
  return live_chunks_;
}

}  // namespace tier::heat
