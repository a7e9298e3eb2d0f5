// alloc_api.cpp - the C ABI for allocation: malloc/calloc/aligned/realloc/free/usable/owns.
//
// Fast path (tier_malloc_p / tier_free up to 4 KiB): no lock, no policy resolution; one
// thread-local lookup, a pop from (or push to) the thread's magazine (magazine.hpp) and one
// striped counter add; tier_free also pays one page-map load and one class-map load for the
// block's size class (class_map.hpp; no jemalloc call).
// Up to 2 MiB: one jemalloc call with the thread's explicit tcache instead of the magazine.
// Sizes of 2 MiB and more (or 2 MiB alignment) go to the chunk layer. Accounting counts usable
// sizes (what tier_usable_size reports), so `allocated` equals the sum of live usable sizes.
// Thread-safety: all calls are thread-safe.
#include <cassert>
#include <cstring>

#include "alloc/abi.hpp"
#include "alloc/arena.hpp"
#include "alloc/class_map.hpp"
#include "alloc/chunks.hpp"
#include "alloc/magazine.hpp"
#include "alloc/placement.hpp"
#include "alloc/runtime.hpp"

using namespace tier;
using namespace tier::alloc;

namespace {

#define TIER_LIKELY(x) __builtin_expect(!!(x), 1)
#define TIER_UNLIKELY(x) __builtin_expect(!!(x), 0)

// Checked on entry so a huge size is reported as bad input rather than as a full tier.
constexpr size_t kMaxSize = size_t{1} << 46;

// One-entry per-thread memo of the last tier_policy seen by tier_malloc & co: a repeated
// policy skips validation and interning (a mutex and a map lookup).
struct PolicyMemo {
  uint32_t generation;
  tier_policy policy;
  tier_placement *placement;
};
thread_local PolicyMemo t_memo;

Result<tier_placement *> placement_for(tier_runtime *rt, const tier_policy *policy) {
  if (policy == nullptr) return rt->default_placement;
  PolicyMemo &m = t_memo;
  if (m.generation == rt->generation && std::memcmp(&m.policy, policy, sizeof *policy) == 0)
    return m.placement;
  auto pl = get_placement(rt, policy);
  if (pl) {
    m.generation = rt->generation;
    std::memcpy(&m.policy, policy, sizeof *policy);
    m.placement = *pl;
  }
  return pl;
}

void *small_alloc(tier_runtime *rt, tier_placement *pl, size_t size, int extra) {
  ThreadState &t = t_thread;  // one TLS lookup for the magazine, tcache and counter stripe
  if (TIER_LIKELY(extra == 0 && size <= kMagMaxSize)) {
    const unsigned cls = size_class_of(size);
    if (Magazines *m = t.mag[pl->gid]; TIER_LIKELY(m != nullptr)) {
      MagBin &b = m->bin[cls];
      if (TIER_LIKELY(b.n != 0)) {
        const uintptr_t e = b.slot[--b.n];
        account(rt, int(e >> kMagTagShift), int64_t(g_size_classes.size[cls]), 1,
                thread_stripe_of(t));
        return reinterpret_cast<void *>(e & kMagPtrMask);
      }
    }
    if (void *p = magazine_refill_pop(rt, pl, cls)) return p;
    // Nothing from the arena: the direct path below reports why.
  }
  const int flags = thread_alloc_flags(t, pl) | extra;
  void *p = mallocx_placement(pl, size, flags);
  if (TIER_UNLIKELY(p == nullptr)) return fail<void *>(nullptr, no_room(rt, pl, size));
  Granule g = PageMap::existing()->get(p);
  // nallocx is a size-class computation; it equals what sallocx reports at free time.
  const size_t usable = tierje_nallocx(size, extra & ~MALLOCX_ZERO);
  if (ClassMap *cm = ClassMap::existing()) cm->set(p, class_map_value(usable));
  account(rt, g.node_slot, int64_t(usable), 1, thread_stripe_of(t));
  return p;
}

void *allocate(tier_runtime *rt, tier_placement *pl, size_t size, size_t alignment, bool zero,
               const char *call) {
  if (TIER_UNLIKELY(size > kMaxSize)) {
    return fail<void *>(
        nullptr, make_error(TIER_EINVAL, std::string(call) + ": size " + std::to_string(size) +
                                             " exceeds the 64 TiB limit"));
  }
  if (TIER_LIKELY(size < kGranule && alignment < kGranule)) {
    int extra = (zero ? MALLOCX_ZERO : 0) | (alignment > 1 ? MALLOCX_ALIGN(alignment) : 0);
    return small_alloc(rt, pl, size ? size : 1, extra);
  }
  return guarded(call, static_cast<void *>(nullptr), [&]() -> void * {
    auto r = large_alloc(pl, size ? size : 1);
    if (!r) return fail<void *>(nullptr, r.error());
    if (zero && !r->zeroed) std::memset(r->ptr, 0, r->len);
    return r->ptr;
  });
}

Status check_alignment(size_t alignment, const char *call) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    return make_error(TIER_EINVAL, std::string(call) + ": alignment " + std::to_string(alignment) +
                                       " is not a power of two");
  }
  if (alignment > kGranule) {
    return make_error(TIER_EINVAL, std::string(call) + ": alignment " + std::to_string(alignment) +
                                       " exceeds the 2 MiB maximum");
  }
  return {};
}

Status check_placement(const tier_runtime *rt, const tier_placement *pl, const char *call) {
  if (rt == nullptr) return make_error(TIER_EINVAL, std::string(call) + ": runtime is NULL");
  if (pl == nullptr) return make_error(TIER_EINVAL, std::string(call) + ": placement is NULL");
  if (pl->runtime != rt) {
    return make_error(TIER_EINVAL, std::string(call) + ": placement belongs to another runtime");
  }
  return {};
}

Error not_owned(const void *p, const char *call) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s: %p was not allocated by this runtime", call, p);
  return make_error(TIER_ENOTOWNED, buf);
}

// The owning granule of `p`, or an error (not ours, interior pointer, already freed).
Result<Granule> owner(const tier_runtime *rt, const void *p, const char *call) {
  PageMap *pm = PageMap::existing();
  Granule g = pm ? pm->get(p) : Granule{};
  if (g.runtime != rt->generation || g.kind == GranuleKind::kNone) return not_owned(p, call);
  char buf[128];
  if (g.kind == GranuleKind::kCached) {
    std::snprintf(buf, sizeof buf, "%s: %p was already freed", call, p);
    return make_error(TIER_EINVAL, buf);
  }
  if (g.kind == GranuleKind::kLargeBody ||
      (g.kind == GranuleKind::kLargeHead && (reinterpret_cast<uintptr_t>(p) & (kGranule - 1)))) {
    std::snprintf(buf, sizeof buf, "%s: %p points inside an allocation, not at its start", call, p);
    return make_error(TIER_EINVAL, buf);
  }
  return g;
}

size_t usable(tier_runtime *rt, const void *p, const Granule &g) {
  if (g.kind == GranuleKind::kSmall) return tierje_sallocx(p, 0);
  auto b = large_lookup(rt, p);
  return b ? b->len : 0;
}

// The usable size of small block `p` and its magazine class + 1 (0 above kMagMaxSize): from
// the class map when it knows the page, else from jemalloc.
inline size_t small_size(const void *p, unsigned *cls_plus1) {
  if (const ClassMap *cm = ClassMap::existing(); TIER_LIKELY(cm != nullptr)) {
    if (const unsigned c = cm->get(p); TIER_LIKELY(c != 0)) {
      *cls_plus1 = c;
      assert(g_size_classes.size[c - 1] == tierje_sallocx(p, 0));
      return g_size_classes.size[c - 1];
    }
  }
  const size_t size = tierje_sallocx(p, 0);
  *cls_plus1 = class_map_value(size);
  return size;
}

tier_status free_owned(tier_runtime *rt, void *p, const Granule &g) {
  if (TIER_LIKELY(g.kind == GranuleKind::kSmall)) {
    ThreadState &t = t_thread;
    unsigned cls_plus1 = 0;
    const size_t size = small_size(p, &cls_plus1);
    account(rt, g.node_slot, -int64_t(size), -1, thread_stripe_of(t));
    if (TIER_LIKELY(cls_plus1 != 0)) {
      const unsigned cls = cls_plus1 - 1;
      if (Magazines *m = t.mag[g.placement]; TIER_LIKELY(m != nullptr)) {
        MagBin &b = m->bin[cls];
        if (TIER_LIKELY(b.n < g_size_classes.cap[cls])) {
          b.slot[b.n++] = reinterpret_cast<uintptr_t>(p) | (uintptr_t{g.node_slot} << kMagTagShift);
          return TIER_OK;
        }
      }
      if (magazine_push_slow(g.placement, cls, p, g.node_slot)) return TIER_OK;
    }
    tierje_dallocx(p, thread_free_flags(t, g.placement));
    return TIER_OK;
  }
  return guarded("tier_free", TIER_ENOMEM, [&] {
    Status st = large_free(rt, p);
    return st ? TIER_OK : set_last_error(st.error());
  });
}

// Resizes `p` (owned, granule `g`) under placement `pl`, moving it when needed.
void *resize(tier_runtime *rt, void *p, const Granule &g, size_t size, tier_placement *pl,
             const char *call) {
  if (size > kMaxSize) {
    return fail<void *>(
        nullptr, make_error(TIER_EINVAL, std::string(call) + ": size " + std::to_string(size) +
                                             " exceeds the 64 TiB limit"));
  }
  size_t want = size ? size : 1;
  bool same = g.placement == pl->gid;
  if (same && g.kind == GranuleKind::kSmall && want < kGranule) {
    size_t old_usable = tierje_sallocx(p, 0);
    // In place or within the thread's arena, taking no run below the targets; otherwise the
    // block moves below, through mallocx_placement's order.
    ThreadState &t = t_thread;
    const int flags = thread_alloc_flags(t, pl);
    t.runs_on_targets_only = runs_on_targets_first(pl);
    void *q = tierje_rallocx(p, want, flags);
    t.runs_on_targets_only = false;
    if (q != nullptr) {
      const size_t new_usable = tierje_sallocx(q, 0);
      if (ClassMap *cm = ClassMap::existing()) cm->set(q, class_map_value(new_usable));
      account(rt, g.node_slot, -int64_t(old_usable), -1);
      account(rt, PageMap::existing()->get(q).node_slot, int64_t(new_usable), 1);
      return q;
    }
  }
  size_t old_usable = usable(rt, p, g);
  if (same && g.kind == GranuleKind::kLargeHead && want >= kGranule &&
      ((want + kGranule - 1) & ~(kGranule - 1)) == old_usable)
    return p;
  // Different placement, crossing the small/large boundary, or no room in the thread's arena
  // on the targets: the data moves to memory
  // placed under the new policy.
  void *q = allocate(rt, pl, want, 1, false, call);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, old_usable < want ? old_usable : want);
  free_owned(rt, p, g);
  return q;
}

}  // namespace

extern "C" {

void tier_policy_init(tier_policy *policy) {
  if (policy) *policy = TIER_POLICY_INIT;
}

tier_placement *tier_placement_get(tier_runtime *runtime, const tier_policy *policy) {
  return guarded("tier_placement_get", static_cast<tier_placement *>(nullptr),
                 [&]() -> tier_placement * {
                   if (runtime == nullptr)
                     return fail<tier_placement *>(
                         nullptr, make_error(TIER_EINVAL, "tier_placement_get: runtime is NULL"));
                   auto pl = get_placement(runtime, policy);
                   return pl ? *pl : fail<tier_placement *>(nullptr, pl.error());
                 });
}

void *tier_malloc_p(tier_runtime *runtime, size_t size, tier_placement *placement) {
  if (TIER_UNLIKELY(runtime == nullptr || placement == nullptr || placement->runtime != runtime)) {
    return fail<void *>(nullptr, check_placement(runtime, placement, "tier_malloc_p").error());
  }
  if (TIER_LIKELY(size - 1 < kGranule - 1)) return small_alloc(runtime, placement, size, 0);
  return allocate(runtime, placement, size, 1, false, "tier_malloc_p");
}

void *tier_aligned_alloc_p(tier_runtime *runtime, size_t alignment, size_t size,
                           tier_placement *placement) {
  if (Status st = check_placement(runtime, placement, "tier_aligned_alloc_p"); !st)
    return fail<void *>(nullptr, st.error());
  if (Status st = check_alignment(alignment, "tier_aligned_alloc_p"); !st)
    return fail<void *>(nullptr, st.error());
  return allocate(runtime, placement, size, alignment, false, "tier_aligned_alloc_p");
}

void *tier_malloc(tier_runtime *runtime, size_t size, const tier_policy *policy) {
  return guarded("tier_malloc", static_cast<void *>(nullptr), [&]() -> void * {
    if (runtime == nullptr)
      return fail<void *>(nullptr, make_error(TIER_EINVAL, "tier_malloc: runtime is NULL"));
    auto pl = placement_for(runtime, policy);
    if (!pl) return fail<void *>(nullptr, pl.error());
    return allocate(runtime, *pl, size, 1, false, "tier_malloc");
  });
}

void *tier_calloc(tier_runtime *runtime, size_t count, size_t size, const tier_policy *policy) {
  return guarded("tier_calloc", static_cast<void *>(nullptr), [&]() -> void * {
    if (runtime == nullptr)
      return fail<void *>(nullptr, make_error(TIER_EINVAL, "tier_calloc: runtime is NULL"));
    size_t total = 0;
    if (__builtin_mul_overflow(count, size, &total)) {
      return fail<void *>(
          nullptr, make_error(TIER_EINVAL, "tier_calloc: count " + std::to_string(count) +
                                               " * size " + std::to_string(size) + " overflows"));
    }
    auto pl = placement_for(runtime, policy);
    if (!pl) return fail<void *>(nullptr, pl.error());
    return allocate(runtime, *pl, total, 1, true, "tier_calloc");
  });
}

void *tier_aligned_alloc(tier_runtime *runtime, size_t alignment, size_t size,
                         const tier_policy *policy) {
  return guarded("tier_aligned_alloc", static_cast<void *>(nullptr), [&]() -> void * {
    if (runtime == nullptr) {
      return fail<void *>(nullptr, make_error(TIER_EINVAL, "tier_aligned_alloc: runtime is NULL"));
    }
    if (Status st = check_alignment(alignment, "tier_aligned_alloc"); !st)
      return fail<void *>(nullptr, st.error());
    auto pl = placement_for(runtime, policy);
    if (!pl) return fail<void *>(nullptr, pl.error());
    return allocate(runtime, *pl, size, alignment, false, "tier_aligned_alloc");
  });
}

void *tier_realloc(tier_runtime *runtime, void *ptr, size_t size) {
  return guarded("tier_realloc", static_cast<void *>(nullptr), [&]() -> void * {
    if (runtime == nullptr)
      return fail<void *>(nullptr, make_error(TIER_EINVAL, "tier_realloc: runtime is NULL"));
    if (ptr == nullptr)
      return allocate(runtime, runtime->default_placement, size, 1, false, "tier_realloc");
    auto g = owner(runtime, ptr, "tier_realloc");
    if (!g) return fail<void *>(nullptr, g.error());
    tier_placement *pl = placement_by_gid(g->placement);
    if (pl == nullptr) return fail<void *>(nullptr, not_owned(ptr, "tier_realloc"));
    return resize(runtime, ptr, *g, size, pl, "tier_realloc");
  });
}

void *tier_realloc_policy(tier_runtime *runtime, void *ptr, size_t size,
                          const tier_policy *policy) {
  return guarded("tier_realloc_policy", static_cast<void *>(nullptr), [&]() -> void * {
    if (runtime == nullptr) {
      return fail<void *>(nullptr, make_error(TIER_EINVAL, "tier_realloc_policy: runtime is NULL"));
    }
    auto pl = placement_for(runtime, policy);
    if (!pl) return fail<void *>(nullptr, pl.error());
    if (ptr == nullptr) return allocate(runtime, *pl, size, 1, false, "tier_realloc_policy");
    auto g = owner(runtime, ptr, "tier_realloc_policy");
    if (!g) return fail<void *>(nullptr, g.error());
    return resize(runtime, ptr, *g, size, *pl, "tier_realloc_policy");
  });
}

tier_status tier_free(tier_runtime *runtime, void *ptr) {
  if (ptr == nullptr) return TIER_OK;
  if (TIER_UNLIKELY(runtime == nullptr))
    return set_last_error(TIER_EINVAL, "tier_free: runtime is NULL");
  PageMap *pm = PageMap::existing();
  Granule g = pm ? pm->get(ptr) : Granule{};
  // The common case, checked inline; everything unusual goes through owner() for its message.
  if (TIER_LIKELY(g.runtime == runtime->generation && g.kind == GranuleKind::kSmall))
    return free_owned(runtime, ptr, g);
  auto checked = owner(runtime, ptr, "tier_free");
  if (!checked) return set_last_error(checked.error());
  return free_owned(runtime, ptr, *checked);
}

size_t tier_usable_size(tier_runtime *runtime, const void *ptr) {
  return guarded("tier_usable_size", size_t{0}, [&]() -> size_t {
    if (runtime == nullptr) {
      set_last_error(TIER_EINVAL, "tier_usable_size: runtime is NULL");
      return 0;
    }
    auto g = owner(runtime, ptr, "tier_usable_size");
    if (!g) {
      set_last_error(g.error());
      return 0;
    }
    return usable(runtime, ptr, *g);
  });
}

int tier_owns(const tier_runtime *runtime, const void *ptr) {
  if (runtime == nullptr || ptr == nullptr) return 0;
  PageMap *pm = PageMap::existing();
  if (pm == nullptr) return 0;
  Granule g = pm->get(ptr);
  return g.runtime == runtime->generation && g.kind != GranuleKind::kNone;
}

}  // extern "C"
