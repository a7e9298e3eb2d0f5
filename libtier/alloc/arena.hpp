// arena.hpp - the jemalloc arenas of a placement, fed by Tier's chunk layer through extent
// hooks, and the per-thread explicit tcaches that keep placements from mixing.
//
// jemalloc's automatic thread cache is keyed by size class only, so an object cached from
// arena A could be handed out for mallocx(MALLOCX_ARENA(B)). Tier therefore gives each
// (thread, placement) its own explicit tcache (tcache.create), found in a zero-initialised
// thread_local table indexed by the placement's gid, and destroys them when the thread exits
// (pthread key destructor). Frees use the tcache of the pointer's own placement.
//
// Arenas per placement: the threads of a placement are spread over up to min(CPUs the
// process may run on, kArenaSlots) arenas (least-loaded first), each made when the first
// thread assigned to its slot allocates, all sharing the placement's hooks (same nodes, same
// capacity checks). Why: threads sharing one arena share its extent layer (the dirty-extent
// lock and heaps, the extent-descriptor cache), which bin shards do not split; at two threads
// that held Tier's small-size throughput to 1.2x memkind's, which gives threads separate
// arenas too (docs/benchmarks.md, "Fourth round"). Cost: every arena in use takes its own
// runs from the tier (2 MiB first, larger as jemalloc grows it), so TIER_RUNTIME_SHARED_ARENA keeps
// one arena per placement for small fast tiers. An arena whose targets have no room for another run
// does not fail, or spill down the ranking, while another arena of the placement can still serve
// the request (mallocx_placement).
//
// Thread-safety: create_arena is called under the runtime's placement mutex; further arenas
// are published with a compare-and-swap (no lock, so nothing to hold across fork); the
// tcache table is per thread; the hooks run on whatever thread jemalloc calls them from.
#pragma once

#include <jemalloc/jemalloc.h>

#include <atomic>
#include <cstdint>

#include "alloc/magazine.hpp"
#include "alloc/placement.hpp"
#include "common/result.hpp"

namespace tier::alloc {

// Placement gids and tcache table slots. Each placement needs at least one arena, and
// jemalloc's MALLOCX_ARENA field encodes arena indices below kMaxArenaIndex (4095); half of
// that range is left for placements' further arenas.
inline constexpr uint32_t kMaxPlacements = 2048;
inline constexpr unsigned kMaxArenaIndex = 4095;

// Most jemalloc arenas one placement spreads its threads over.
inline constexpr unsigned kArenaSlots = 8;

// A placement's arenas and the hooks table jemalloc calls back with; `hooks` must stay the
// first member because the hooks receive a pointer to it and we recover the binding from that
// pointer. Bindings are static, one per gid, never freed (jemalloc arenas cannot be destroyed
// while threads may cache their objects); a destroyed runtime detaches them so further extent
// requests fail cleanly, and exiting threads can still give their slot back.
struct ArenaBinding {
  extent_hooks_t hooks;
  std::atomic<tier_placement *> placement{nullptr};
  // MALLOCX_ARENA flags per slot: slot 0 made with the placement, slot s < slots when the
  // first thread assigned to it allocates; 0 = not made (yet).
  std::atomic<int> arena_flags[kArenaSlots];
  std::atomic<uint32_t> threads[kArenaSlots];  // live threads assigned to each slot
  unsigned slots;                              // slots the placement's threads are spread over
};

// Prepares jemalloc and the fork handlers, once per process, in the order fork safety needs
// (see fork.cpp). Safe to call repeatedly.
Status init_allocator_once();

// Creates the placement's binding and its first arena (slot 0); sets pl->binding.
Status create_arena(tier_placement *pl);
// Stops an arena from taking more memory (its runtime is being destroyed).
void detach_arena(ArenaBinding *binding);

// The parts of a mallocx flags word (jemalloc.h's MALLOCX_ARENA and MALLOCX_TCACHE fields).
inline constexpr int kArenaFlagsMask = static_cast<int>(0xfff00000u);
inline constexpr int kTcacheFlagsMask = 0x000fff00;
inline unsigned arena_index_of(int flags) {
  return (static_cast<unsigned>(flags) >> 20) - 1;
}

// The calling thread's flags for placement `gid`, made on first use: its tcache
// (MALLOCX_TCACHE, or MALLOCX_TCACHE_NONE when jemalloc is out of tcache ids) and, when
// `alloc_from` (the placement itself) is given, its arena (MALLOCX_ARENA of the slot it is
// assigned). Frees need no arena, so a thread that only frees a placement's blocks gets none.
int thread_flags_slow(uint32_t gid, tier_placement *alloc_from);

// mallocx for placement `pl` through the thread's `flags`, once its magazine could not serve.
// With several arenas, a new run is first taken on the placement's targets only, then the
// placement's other arenas are tried the same way, and only then does the thread's arena
// take a run down the ranking (as PREFERRED allows): the order one shared arena would give,
// where a thread's blocks reach a slower node only once the targets are full. nullptr when
// nothing can serve `size` (the thread's last error says why).
void *mallocx_placement(const tier_placement *pl, size_t size, int flags);

// Whether a new run for `pl` is first sought on its targets only: it has several arenas and
// its mode lets runs go below the targets.
inline bool runs_on_targets_first(const tier_placement *pl) {
  return pl->binding->slots > 1 && size_t(pl->ntargets) < pl->order.size();
}

// The indices of the arenas the placement has made so far, slot 0 first.
unsigned placement_arenas(const tier_placement *pl, unsigned out[kArenaSlots]);

struct ThreadState {
  unsigned stripe_plus1;      // StripedCounter stripe + 1; 0 = not yet assigned
  bool registered;            // the pthread key destructor is armed
  bool runs_on_targets_only;  // jemalloc's extent hook may map runs on the targets only
  // mallocx flags per gid: MALLOCX_TCACHE of this thread's tcache for the placement, and
  // MALLOCX_ARENA of its arena once it has allocated there; 0 = neither made yet.
  int flags[kMaxPlacements];
  Magazines *mag[kMaxPlacements];  // small-block magazines per gid (magazine.hpp); lazily made
};
// constinit: zero-initialised, no dynamic initialiser, so other files reach it without the
// TLS wrapper call and "is there an initialiser" check that plain extern thread_local costs.
extern thread_local constinit ThreadState t_thread;

// Arms the thread-exit destructor (tcaches, magazines, counter stripe) for the calling thread.
void arm_thread_exit();

// Assigns the calling thread its StripedCounter stripe (see runtime.hpp).
unsigned thread_stripe_slow();

inline unsigned thread_stripe_of(ThreadState &t) {
  unsigned s = t.stripe_plus1;
  return __builtin_expect(s != 0, 1) ? s - 1 : thread_stripe_slow();
}

// Flags to allocate from placement `pl` with: the thread's arena and tcache.
inline int thread_alloc_flags(ThreadState &t, tier_placement *pl) {
  int f = t.flags[pl->gid];
  return __builtin_expect((f & kArenaFlagsMask) != 0, 1) ? f : thread_flags_slow(pl->gid, pl);
}

// Flags to free a block of placement `gid` with: the thread's tcache (jemalloc ignores the
// arena field when freeing).
inline int thread_free_flags(ThreadState &t, uint32_t gid) {
  int f = t.flags[gid];
  return __builtin_expect(f != 0, 1) ? f : thread_flags_slow(gid, nullptr);
}

}  // namespace tier::alloc
