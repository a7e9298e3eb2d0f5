// arena.hpp - one jemalloc arena per placement, fed by Tier's chunk layer through extent
// hooks, and the per-thread explicit tcaches that keep arenas from mixing.
//
// jemalloc's automatic thread cache is keyed by size class only, so an object cached from
// arena A could be handed out for mallocx(MALLOCX_ARENA(B)). Tier therefore gives each
// (thread, placement) its own explicit tcache (tcache.create), found in a zero-initialised
// thread_local table indexed by the placement's gid, and destroys them when the thread exits
// (pthread key destructor). Frees use the tcache of the pointer's own placement.
//
// Thread-safety: create_arena is called under the runtime's placement mutex; the tcache table
// is per thread; the hooks run on whatever thread jemalloc calls them from.
#pragma once

#include <jemalloc/jemalloc.h>

#include <atomic>
#include <cstdint>

#include "alloc/magazine.hpp"
#include "common/result.hpp"

struct tier_placement;

namespace tier::alloc {

// Placement gids and tcache table slots: jemalloc's MALLOCX_ARENA encoding allows fewer than
// 2048 arenas, so this bounds placements per process comfortably.
inline constexpr uint32_t kMaxPlacements = 2048;

// The hooks table jemalloc calls back with; `hooks` must stay the first member because the
// hooks receive a pointer to it and we recover the binding from that pointer. Bindings are
// never freed (jemalloc arenas cannot be destroyed while threads may cache their objects);
// a destroyed runtime detaches them so further extent requests fail cleanly.
struct ArenaBinding {
  extent_hooks_t hooks;
  std::atomic<tier_placement *> placement{nullptr};
};

// Prepares jemalloc and the fork handlers, once per process, in the order fork safety needs
// (see fork.cpp). Safe to call repeatedly.
Status init_allocator_once();

// Creates the placement's arena and installs the hooks; sets pl->arena, mallocx_arena, binding.
Status create_arena(tier_placement *pl);
// Stops an arena from taking more memory (its runtime is being destroyed).
void detach_arena(ArenaBinding *binding);

// MALLOCX_TCACHE(...) flags of the calling thread's tcache for placement `gid` (creating it on
// first use), or MALLOCX_TCACHE_NONE when jemalloc is out of tcache ids.
int thread_tcache_slow(uint32_t gid);

struct ThreadState {
  unsigned stripe_plus1;           // StripedCounter stripe + 1; 0 = not yet assigned
  bool registered;                 // the pthread key destructor is armed
  int tcache[kMaxPlacements];      // MALLOCX_TCACHE flags per gid; 0 = not created yet
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

inline int thread_tcache(uint32_t gid) {
  int f = t_thread.tcache[gid];
  return __builtin_expect(f != 0, 1) ? f : thread_tcache_slow(gid);
}

}  // namespace tier::alloc
