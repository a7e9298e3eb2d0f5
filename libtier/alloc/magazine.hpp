// magazine.hpp - a per-thread, per-placement, per-size-class cache of freed small blocks in
// front of jemalloc (sizes up to 4 KiB).
//
// Why: with an explicit arena and tcache, jemalloc's mallocx/dallocx miss its inlined fast
// path (that is reserved for plain malloc/free), and each op also paid nallocx/sallocx and
// the TLS look-ups behind them. A magazine hit is a bounded array pop or push plus one
// thread-striped counter update. It is NOT an allocator: blocks only ever come from the
// placement's jemalloc arenas (refilled in batches of half a magazine through the thread's
// explicit tcache) and go back there (flushed in batches, and entirely at thread exit).
//
// Statistics stay exact: a block in a magazine is accounted as not allocated (the counter
// moves at pop and push, not at refill and flush). Each slot keeps the block's node slot in
// its top byte (user addresses are below 2^47), so a pop needs no page-map load.
//
// Capacity per class: kMagBytes / class size, clamped to [kMagMinSlots, kMagSlots]; at most
// ~0.6 MiB of blocks per (thread, placement), comparable to what jemalloc's own tcache keeps.
//
// Thread-safety: a thread's magazines are touched only by that thread (a block freed by
// another thread goes into the freeing thread's magazine). No locks, so fork needs no
// handler: the child keeps the forking thread's magazines, other threads' blocks stay
// allocated in the child's jemalloc (as their tcaches' blocks do).
#pragma once

#include <cstddef>
#include <cstdint>

struct tier_runtime;
struct tier_placement;

namespace tier::alloc {

inline constexpr size_t kMagMaxSize = 4096;  // largest size served through magazines
inline constexpr unsigned kMagClasses = 32;  // >= jemalloc's size classes up to kMagMaxSize
inline constexpr unsigned kMagSlots = 64;
inline constexpr unsigned kMagMinSlots = 8;
inline constexpr size_t kMagBytes = size_t{32} << 10;
inline constexpr unsigned kMagTagShift = 56;
inline constexpr uintptr_t kMagPtrMask = (uintptr_t{1} << kMagTagShift) - 1;

struct MagBin {
  uint32_t n;                 // cached blocks in slot[0..n)
  uintptr_t slot[kMagSlots];  // block address | node slot << kMagTagShift
};

struct Magazines {
  MagBin bin[kMagClasses];
};

// jemalloc's size classes up to kMagMaxSize, read from nallocx once (so they follow its build
// configuration rather than a copy of its table).
struct SizeClasses {
  uint8_t of[kMagMaxSize / 8 + 1];  // (size + 7) >> 3 -> class index
  uint32_t size[kMagClasses];       // usable size of a class
  uint32_t cap[kMagClasses];        // magazine capacity of a class
  unsigned count;
};
extern SizeClasses g_size_classes;

inline unsigned size_class_of(size_t size) {
  return g_size_classes.of[(size + 7) >> 3];
}

// The ClassMap value (class_map.hpp) of a block of usable size `usable`: its magazine class
// + 1, or 0 above kMagMaxSize.
inline unsigned class_map_value(size_t usable) {
  return usable <= kMagMaxSize ? size_class_of(usable) + 1 : 0;
}

// Fills the size-class table (init_allocator_once, after jemalloc is initialised).
void init_size_classes();

// Slow paths of the calling thread's magazine for `pl` and class `cls`: creates the magazine
// when missing and refills the bin from the arena, then pops one block and accounts it.
// nullptr when nothing could be obtained (the caller's direct path then reports the error).
void *magazine_refill_pop(tier_runtime *rt, tier_placement *pl, unsigned cls);
// Pushes a block that found its bin full (flushing half of it first) or no magazine yet.
// False when no magazine could be created (the caller frees the block directly).
bool magazine_push_slow(uint32_t gid, unsigned cls, void *p, uint8_t node_slot);
// Returns every cached block of the calling thread to its arena and frees the magazines
// (thread exit). Blocks of a placement whose runtime is gone are dropped untouched.
void magazine_thread_exit();

// Drops the calling thread's magazine for `gid` without touching its blocks (the placement's
// runtime is being destroyed; other threads drop theirs at exit).
void magazine_drop(uint32_t gid);

// For tests: blocks cached by the calling thread for placement `gid`.
size_t magazine_cached_blocks(uint32_t gid);
// For tests: blocks of the placement's arenas held outside them (by users, tcaches and
// magazines), from jemalloc's statistics.
uint64_t arena_small_outstanding(const tier_placement *pl);

}  // namespace tier::alloc
