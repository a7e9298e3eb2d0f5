// arena.cpp - jemalloc arenas with Tier's extent hooks, and per-thread explicit tcaches.
//
// Hook choices (jemalloc 5.3, opt.retain on, which is the Linux default):
//  - alloc maps fresh 2 MiB-aligned runs from the chunk layer (bound to the placement's node,
//    capacity-checked, recorded in the page map); jemalloc's retained-extent growth asks for
//    geometrically growing sizes starting at 2 MiB, so calls are rare.
//  - dalloc and destroy are absent: jemalloc then keeps the address space as "retained" and
//    reuses it, and Tier never has to unmap part of a run it recorded. Memory is returned to
//    the OS by purging (MADV_DONTNEED keeps the range's mbind policy, so re-faulted pages land
//    on the same node).
//  - commit/decommit are absent (our memory is always committed; jemalloc falls back to purge).
//  - split/merge succeed: extents are plain address ranges to us.
// The arena is created with default hooks and ours are installed afterwards, so jemalloc's
// first metadata block comes from ordinary memory rather than from a (possibly tiny) tier.
// Thread-safety: see arena.hpp.
#include "alloc/arena.hpp"
#include "alloc/upper_hooks.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>

#include "alloc/chunks.hpp"
#include "alloc/fork.hpp"
#include "alloc/placement.hpp"
#include "prim/os.hpp"

// jemalloc's compiled-in options (it declares this symbol weak; TIERJE_MALLOC_CONF in the
// environment still overrides). Size classes of 512 B and up have few objects per slab, so
// jemalloc's default floor of 20 cached objects per class makes a burst of a few hundred
// mixed-size blocks flush and refill its tcache and free and re-carve slabs on every round
// (perf: bin locks, eset_fit, pa_alloc/pa_dalloc on top). A floor of 64 cut Tier's cost per
// malloc+free pair from 45.5 to 34.1 ns (best of 5, 1000 mixed 16 B - 4 KiB blocks), at the
// price of at most 64 cached objects per class per (thread, placement) tcache.
// slab_sizes: jemalloc sizes a slab to waste nothing, which gives the 4 KiB class one block
// per 4 KiB slab and the 2 KiB class two. Every block of those classes that goes back to the
// arena then empties its slab, which is freed to the extent layer (ecache and emap updates
// under the arena's extent lock) and carved again by the next allocation: in the small-size
// bench (139 of 1000 blocks are 4 KiB) every arena allocation of the class created a slab.
// Four blocks per slab (16 KiB and 8 KiB slabs) keep most slabs partly used across a burst
// (slab creations fell to 8% of arena allocations) for a bounded cost: a live 4 KiB block can
// pin at most 16 KiB, like the 3.5 KiB class's 7-page slabs already do.
// bin_shards: threads that share an arena (more threads than a placement's arenas, or
// TIER_RUNTIME_SHARED_ARENA) refill and flush the same bins; with one arena per placement,
// two threads spent ~20% of their time on the bin mutexes and slab heaps (0.8x jemalloc's
// throughput). Eight shards per bin up to 4 KiB give such threads separate bins
// (docs/benchmarks.md, "Third round: bin shards"; arenas per CPU came in the fourth).
extern "C" {
const char *tierje_malloc_conf =
    "tcache_nslots_small_min:64,slab_sizes:2048-2048:2|4096-4096:4,bin_shards:1-4096:8";
}

namespace tier::alloc {

constinit thread_local ThreadState t_thread;

namespace {

pthread_key_t g_thread_key;
// Bindings live in static storage indexed by the placement's gid: jemalloc keeps calling
// through them for the life of the process, and static storage is neither freed nor a leak.
ArenaBinding g_bindings[kMaxPlacements];
// Arenas per placement (before TIER_RUNTIME_SHARED_ARENA): min(CPUs the process may run on,
// kArenaSlots), read once at initialisation.
unsigned g_arena_slots = 1;
// Further arenas are made only while jemalloc has fewer than this many, so placements (whose
// first arena is required) keep the upper half of MALLOCX_ARENA's index range.
constexpr unsigned kExtraArenaIndexLimit = 2048;
// Bit s set = StripedCounter stripe s is owned by a live thread.
std::atomic<uint64_t> g_stripes_taken{0};
static_assert(StripedCounter::kStripes == 64, "one bit per stripe");

void *hook_alloc(extent_hooks_t *hooks, void *new_addr, size_t size, size_t alignment, bool *zero,
                 bool *commit, unsigned /*arena_ind*/) {
  // A specific address is only asked for to grow in place; declining is always allowed.
  if (new_addr != nullptr) return nullptr;
  auto *binding = reinterpret_cast<ArenaBinding *>(hooks);
  tier_placement *pl = binding->placement.load(std::memory_order_acquire);
  if (pl == nullptr) return nullptr;
  void *p = map_small_run(pl, size, alignment, t_thread.runs_on_targets_only);
  if (p == nullptr) return nullptr;
  *zero = true;
  *commit = true;
  return p;
}

bool hook_purge_forced(extent_hooks_t *, void *addr, size_t, size_t offset, size_t length,
                       unsigned) {
  return !prim::advise(static_cast<char *>(addr) + offset, length, MADV_DONTNEED).ok();
}

bool hook_purge_lazy(extent_hooks_t *, void *addr, size_t, size_t offset, size_t length, unsigned) {
  return !prim::advise(static_cast<char *>(addr) + offset, length, MADV_FREE).ok();
}

bool hook_split(extent_hooks_t *, void *, size_t, size_t, size_t, bool, unsigned) {
  return false;
}

bool hook_merge(extent_hooks_t *, void *, size_t, void *, size_t, bool, unsigned) {
  return false;
}

unsigned usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

// A new jemalloc arena calling `hooks`; its index, or an error.
Result<unsigned> new_hooked_arena(extent_hooks_t *hooks, const std::string &what) {
  unsigned ind = 0;
  size_t len = sizeof ind;
  if (int err = tierje_mallctl("arenas.create", &ind, &len, nullptr, 0)) {
    return Error{TIER_ENOMEM, err,
                 "creating a jemalloc arena for " + what + ": " + std::strerror(err)};
  }
  std::string name = "arena." + std::to_string(ind) + ".extent_hooks";
  if (int err = tierje_mallctl(name.c_str(), nullptr, nullptr, &hooks, sizeof hooks)) {
    return Error{TIER_EOS, err, "installing extent hooks on " + name + ": " + std::strerror(err)};
  }
  return ind;
}

// The MALLOCX_ARENA flags of a further arena for `pl`, or 0 (jemalloc refused, or the index
// range is reserved for placements' first arenas).
int make_extra_arena(const tier_placement *pl) {
  unsigned narenas = 0;
  size_t len = sizeof narenas;
  if (tierje_mallctl("arenas.narenas", &narenas, &len, nullptr, 0) != 0 ||
      narenas >= kExtraArenaIndexLimit)
    return 0;
  auto ind = new_hooked_arena(&pl->binding->hooks, "placement " + pl->text);
  return ind ? MALLOCX_ARENA(*ind) : 0;
}

// The arena (MALLOCX_ARENA flags) for a thread's first allocation from `pl`: the slot with
// the fewest live threads, made now if it has not been yet; slot 0's when a further arena
// cannot be made. Least-loaded rather than round-robin: with threads coming and going, a
// round-robin cursor puts two live threads on one arena about as often as not. The slot is
// claimed with a compare-and-swap on its count, so threads starting together spread out.
int assign_arena(tier_placement *pl) {
  ArenaBinding &b = *pl->binding;
  unsigned slot = 0;
  for (;;) {
    uint32_t fewest = UINT32_MAX;
    for (unsigned s = 0; s < b.slots; ++s) {
      const uint32_t n = b.threads[s].load(std::memory_order_relaxed);
      if (n < fewest) fewest = n, slot = s;
    }
    if (b.threads[slot].compare_exchange_weak(fewest, fewest + 1, std::memory_order_relaxed)) break;
  }
  int a = b.arena_flags[slot].load(std::memory_order_acquire);
  if (a == 0 && (a = make_extra_arena(pl)) != 0) {
    int expected = 0;
    // Another thread may have made the slot's arena first; ours then stays unused. It holds no
    // memory of the tier (runs are mapped on demand), only jemalloc's metadata for an arena.
    if (!b.arena_flags[slot].compare_exchange_strong(expected, a, std::memory_order_acq_rel))
      a = expected;
  }
  if (a == 0) {  // no further arena: the thread shares slot 0's
    b.threads[slot].fetch_sub(1, std::memory_order_relaxed);
    b.threads[0].fetch_add(1, std::memory_order_relaxed);
    a = b.arena_flags[0].load(std::memory_order_acquire);
  }
  return a;
}

// A thread giving back its slot in placement `gid`'s arena `flags` (thread exit). Through the
// static binding: the placement may have been destroyed meanwhile.
void leave_arena(uint32_t gid, int flags) {
  const int a = flags & kArenaFlagsMask;
  if (a == 0) return;
  ArenaBinding &b = g_bindings[gid];
  for (unsigned s = 0; s < b.slots; ++s) {
    if (b.arena_flags[s].load(std::memory_order_relaxed) == a) {
      b.threads[s].fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }
}

// Tries the placement's arenas other than the one in `flags` for `size`. nullptr when none
// can serve it.
void *mallocx_other_arenas(const tier_placement *pl, size_t size, int flags) {
  const ArenaBinding &b = *pl->binding;
  const int own = flags & kArenaFlagsMask;
  for (unsigned s = 0; s < b.slots; ++s) {
    const int a = b.arena_flags[s].load(std::memory_order_acquire);
    if (a == 0 || a == own) continue;
    if (void *p = tierje_mallocx(size, (flags & ~kArenaFlagsMask) | a)) return p;
  }
  return nullptr;
}

void destroy_thread_tcaches(void *) {
  // Magazines first: they flush into the tcaches destroyed below.
  magazine_thread_exit();
  ThreadState &t = t_thread;
  t.registered = false;
  if (unsigned s = t.stripe_plus1; s > 1) {
    // release: our last counter updates happen before the next owner's.
    g_stripes_taken.fetch_and(~(uint64_t{1} << (s - 1)), std::memory_order_release);
  }
  t.stripe_plus1 = 0;
  for (uint32_t gid = 0; gid < kMaxPlacements; ++gid) {
    const int flags = t.flags[gid];
    if (flags == 0) continue;
    t.flags[gid] = 0;
    leave_arena(gid, flags);
    const int tcache = flags & kTcacheFlagsMask;
    if (tcache == 0 || tcache == MALLOCX_TCACHE_NONE) continue;
    unsigned id = static_cast<unsigned>((tcache >> 8) - 2);
    tierje_mallctl("tcache.destroy", nullptr, nullptr, &id, sizeof id);
  }
}

void init_once_body(Status *result) {
  // Order matters for fork safety (fork.cpp): our inner handlers, then jemalloc's (registered
  // when it initialises), then our outer handlers, then the layer above's (upper_hooks.hpp).
  register_inner_fork_handlers();
  const char *version = nullptr;
  size_t len = sizeof version;
  if (int err = tierje_mallctl("version", &version, &len, nullptr, 0)) {
    *result = Error{TIER_EOS, err, "initialising jemalloc: " + std::string(std::strerror(err))};
    return;
  }
  register_outer_fork_handlers();
  tier::alloc::register_upper_fork_handlers();  // the agents' epoch locks: taken before ours
  init_size_classes();
  const unsigned cpus = usable_cpus();
  g_arena_slots = cpus < kArenaSlots ? (cpus > 0 ? cpus : 1) : kArenaSlots;
  if (int err = pthread_key_create(&g_thread_key, destroy_thread_tcaches)) {
    *result = Error{TIER_EOS, err, "pthread_key_create: " + std::string(std::strerror(err))};
  }
}

}  // namespace

Status init_allocator_once() {
  static Status result;
  static std::once_flag once;
  std::call_once(once, init_once_body, &result);
  return result;
}

Status create_arena(tier_placement *pl) {
  ArenaBinding *binding = &g_bindings[pl->gid];
  std::memset(&binding->hooks, 0, sizeof binding->hooks);
  binding->hooks.alloc = hook_alloc;
  binding->hooks.purge_lazy = hook_purge_lazy;
  binding->hooks.purge_forced = hook_purge_forced;
  binding->hooks.split = hook_split;
  binding->hooks.merge = hook_merge;
  binding->placement.store(pl, std::memory_order_release);
  auto ind = new_hooked_arena(&binding->hooks, "placement " + pl->text);
  if (!ind) {
    binding->placement.store(nullptr);
    return std::move(ind).error();
  }
  if (*ind >= kMaxArenaIndex) {
    binding->placement.store(nullptr);
    return make_error(TIER_ENOMEM, "jemalloc arena index " + std::to_string(*ind) +
                                       " exceeds what MALLOCX_ARENA can encode");
  }
  binding->slots = (pl->runtime->flags & TIER_RUNTIME_SHARED_ARENA) ? 1 : g_arena_slots;
  binding->arena_flags[0].store(MALLOCX_ARENA(*ind), std::memory_order_release);
  pl->binding = binding;
  return {};
}

void detach_arena(ArenaBinding *binding) {
  if (binding) binding->placement.store(nullptr, std::memory_order_release);
}

void arm_thread_exit() {
  ThreadState &t = t_thread;
  if (!t.registered) {
    // The key's value only has to be non-null for the destructor to run.
    pthread_setspecific(g_thread_key, &t);
    t.registered = true;
  }
}

int thread_flags_slow(uint32_t gid, tier_placement *alloc_from) {
  arm_thread_exit();
  ThreadState &t = t_thread;
  int flags = t.flags[gid];
  if ((flags & kTcacheFlagsMask) == 0) {
    unsigned id = 0;
    size_t len = sizeof id;
    flags = MALLOCX_TCACHE_NONE;
    if (tierje_mallctl("tcache.create", &id, &len, nullptr, 0) == 0) flags = MALLOCX_TCACHE(id);
  }
  if (alloc_from != nullptr && (flags & kArenaFlagsMask) == 0) flags |= assign_arena(alloc_from);
  t.flags[gid] = flags;
  return flags;
}

void *mallocx_placement(const tier_placement *pl, size_t size, int flags) {
  if (pl->binding->slots == 1) return tierje_mallocx(size, flags);
  const bool first_on_targets = runs_on_targets_first(pl);
  ThreadState &t = t_thread;
  t.runs_on_targets_only = first_on_targets;
  void *p = tierje_mallocx(size, flags);
  if (p == nullptr) p = mallocx_other_arenas(pl, size, flags);
  t.runs_on_targets_only = false;
  if (p == nullptr && first_on_targets) p = tierje_mallocx(size, flags);
  return p;
}

unsigned placement_arenas(const tier_placement *pl, unsigned out[kArenaSlots]) {
  const ArenaBinding &b = *pl->binding;
  unsigned n = 0;
  for (unsigned s = 0; s < b.slots; ++s) {
    const int a = b.arena_flags[s].load(std::memory_order_acquire);
    if (a != 0) out[n++] = arena_index_of(a);
  }
  return n;
}

unsigned thread_stripe_slow() {
  arm_thread_exit();
  ThreadState &t = t_thread;
  unsigned stripe = 0;
  uint64_t taken = g_stripes_taken.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t free = ~taken & ~uint64_t{1};  // stripe 0 is the shared one, never owned
    if (free == 0) break;
    unsigned s = static_cast<unsigned>(__builtin_ctzll(free));
    // acquire: the previous owner's last updates of the stripe happen before ours.
    if (g_stripes_taken.compare_exchange_weak(taken, taken | (uint64_t{1} << s),
                                              std::memory_order_acquire)) {
      stripe = s;
      break;
    }
  }
  t.stripe_plus1 = stripe + 1;
  return stripe;
}

unsigned thread_stripe() {
  return thread_stripe_of(t_thread);
}

}  // namespace tier::alloc
