// interpose.cpp - the exported malloc family. Each call either goes to the next allocator
// untouched (no rule matches, the shim is passive, or libtier itself is allocating) or is
// placed by libtier under the first matching rule; free, realloc and malloc_usable_size route
// a pointer by an O(1) ownership check (tier_owns: one load from libtier's page map, which
// records every 2 MiB granule libtier has mapped) after a range check for the bootstrap buffer.
//
// Why a failed libtier placement falls back to the next allocator: the program asked for
// memory that the next allocator would have given it; tiering must never make it fail.
// errno is preserved across the libtier path (its internal system calls may set it even when
// the allocation succeeds), and set to ENOMEM/EINVAL where the C library would.
// Thread-safety: all functions are thread-safe; nothing here takes a lock on the fast path.
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "alloc/page_map.hpp"
#include "next.hpp"
#include "shim.hpp"

using namespace tier::preload;

namespace {

#define TP_LIKELY(x) __builtin_expect(!!(x), 1)
#define TP_UNLIKELY(x) __builtin_expect(!!(x), 0)

constexpr size_t kPage = 4096;
constexpr size_t kMaxTierAlign = tier::alloc::kGranule;

// Would the shim place a block of `size` bytes? (The cheap gate; the rules decide.)
inline bool candidate(size_t size) {
  return size >= g_shim.gate.load(std::memory_order_acquire) && t_depth == 0;
}

inline tier_runtime *owner_of(const void *p) {
  tier_runtime *rt = g_shim.runtime.load(std::memory_order_acquire);
  return rt != nullptr && tier_owns(rt, p) ? rt : nullptr;
}

// Places `size` bytes under the first matching rule; nullptr when none matches or libtier has
// no room (the caller then asks the next allocator).
void *tier_place(size_t size, size_t alignment, bool zero) {
  size_t index = 0;
  const tier::preload::Rule *rule = match(size, &index);
  if (rule == nullptr) return nullptr;
  Guard guard;
  int saved = errno;
  tier_runtime *rt = g_shim.runtime.load(std::memory_order_acquire);
  void *p = nullptr;
  if (alignment > kMaxTierAlign) {
    p = nullptr;  // beyond what libtier honours: the next allocator serves it
  } else if (zero) {
    p = tier_calloc(rt, 1, size, &rule->policy);
  } else if (alignment > 1) {
    p = tier_aligned_alloc_p(rt, alignment, size, rule->placement);
  } else {
    p = tier_malloc_p(rt, size, rule->placement);
  }
  if (p == nullptr) {
    g_shim.counters[index].fallbacks.fetch_add(1, std::memory_order_relaxed);
  } else {
    account_placed(rt, index, p, size);
    if (size >= tier::alloc::kGranule) region_added(rt, p);
  }
  errno = saved;
  return p;
}

void tier_release(tier_runtime *rt, void *p) {
  Guard guard;
  int saved = errno;
  region_removed(rt, p);
  tier_free(rt, p);  // a double or interior free is refused by libtier, never corrupts
  errno = saved;
}

size_t tier_size(tier_runtime *rt, const void *p) {
  Guard guard;
  int saved = errno;
  size_t n = tier_usable_size(rt, p);
  errno = saved;
  return n;
}

inline void *next_malloc(size_t size) {
  if (TP_UNLIKELY(!next_ready())) return bootstrap_alloc(size, 16, false);
  return g_next.malloc(size);
}

inline void next_free(void *p) {
  if (TP_LIKELY(next_ready())) g_next.free(p);
}

void *next_aligned(size_t alignment, size_t size) {
  if (TP_UNLIKELY(!next_ready())) return bootstrap_alloc(size, alignment, false);
  void *p = nullptr;
  int err = g_next.posix_memalign(&p, alignment, size);
  if (err != 0) {
    errno = err;
    return nullptr;
  }
  return p;
}

bool power_of_two(size_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

size_t round_up_pow2(size_t x) {
  size_t p = sizeof(void *);
  while (p < x && p != 0) p <<= 1;
  return p;
}

// Moves a block to memory from `alloc`, copying min(old, size) bytes; frees the old one.
template <class Alloc, class Free>
void *move_block(void *p, size_t old_size, size_t size, Alloc &&alloc, Free &&release) {
  void *q = alloc(size);
  if (q == nullptr) return nullptr;  // the old block is untouched, as realloc requires
  std::memcpy(q, p, old_size < size ? old_size : size);
  release(p);
  return q;
}

}  // namespace

extern "C" {

#define TP_EXPORT __attribute__((visibility("default")))

TP_EXPORT void *malloc(size_t size) {
  if (TP_UNLIKELY(candidate(size))) {
    if (void *p = tier_place(size, 1, false)) return p;
  }
  return next_malloc(size);
}

TP_EXPORT void free(void *p) {
  if (p == nullptr) return;
  if (TP_UNLIKELY(bootstrap_owns(p))) return;
  if (tier_runtime *rt = owner_of(p)) return tier_release(rt, p);
  next_free(p);
}

TP_EXPORT void *calloc(size_t count, size_t size) {
  size_t total = 0;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (TP_UNLIKELY(candidate(total))) {
    if (void *p = tier_place(total, 1, true)) return p;
  }
  if (TP_UNLIKELY(!next_ready())) return bootstrap_alloc(total, 16, true);
  return g_next.calloc(count, size);
}

TP_EXPORT void *realloc(void *p, size_t size) {
  if (p == nullptr) return malloc(size);
  if (TP_UNLIKELY(bootstrap_owns(p))) {
    return move_block(p, bootstrap_size(p), size, malloc, [](void *) {});
  }
  if (tier_runtime *rt = owner_of(p)) {
    size_t old_size = tier_size(rt, p);
    size_t index = 0;
    const tier::preload::Rule *rule =
        size >= g_shim.gate.load(std::memory_order_acquire) ? match(size, &index) : nullptr;
    if (rule != nullptr) {
      Guard guard;
      int saved = errno;
      region_removed(rt, p);
      void *q = tier_realloc_policy(rt, p, size, &rule->policy);
      if (q != nullptr) {
        if (q != p) account_placed(rt, index, q, size);
        if (size >= tier::alloc::kGranule) region_added(rt, q);
        errno = saved;
        return q;
      }
      if (old_size >= tier::alloc::kGranule) region_added(rt, p);  // untouched: track it again
      g_shim.counters[index].fallbacks.fetch_add(1, std::memory_order_relaxed);
      errno = saved;
    }
    // No rule for the new size (or libtier is full): the block leaves Tier.
    return move_block(p, old_size, size, next_malloc, [rt](void *b) { tier_release(rt, b); });
  }
  if (TP_UNLIKELY(candidate(size)) && g_next.usable_size != nullptr) {
    size_t old_size = g_next.usable_size(p);
    void *q = move_block(
        p, old_size, size, [](size_t n) { return tier_place(n, 1, false); }, g_next.free);
    if (q != nullptr) return q;
  }
  if (TP_UNLIKELY(!next_ready())) return nullptr;
  return g_next.realloc(p, size);
}

TP_EXPORT void *reallocarray(void *p, size_t count, size_t size) {
  size_t total = 0;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

TP_EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
  if (!power_of_two(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
  if (TP_UNLIKELY(candidate(size))) {
    if (void *p = tier_place(size, alignment, false)) {
      *out = p;
      return 0;
    }
  }
  if (TP_UNLIKELY(!next_ready())) {
    void *p = bootstrap_alloc(size, alignment, false);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
  }
  return g_next.posix_memalign(out, alignment, size);
}

TP_EXPORT void *aligned_alloc(size_t alignment, size_t size) {
  if (TP_UNLIKELY(candidate(size)) && power_of_two(alignment)) {
    if (void *p = tier_place(size, alignment, false)) return p;
  }
  if (TP_LIKELY(next_ready()) && g_next.aligned_alloc != nullptr)
    return g_next.aligned_alloc(alignment, size);
  if (!power_of_two(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return next_aligned(round_up_pow2(alignment), size);
}

TP_EXPORT void *memalign(size_t alignment, size_t size) {
  // glibc's memalign accepts any alignment and rounds it up to a power of two.
  size_t a = round_up_pow2(alignment);
  if (a == 0) {
    errno = EINVAL;
    return nullptr;
  }
  if (TP_UNLIKELY(candidate(size))) {
    if (void *p = tier_place(size, a, false)) return p;
  }
  if (TP_LIKELY(next_ready()) && g_next.memalign != nullptr)
    return g_next.memalign(alignment, size);
  return next_aligned(a, size);
}

TP_EXPORT void *valloc(size_t size) {
  if (TP_UNLIKELY(candidate(size))) {
    if (void *p = tier_place(size, kPage, false)) return p;
  }
  if (TP_LIKELY(next_ready()) && g_next.valloc != nullptr) return g_next.valloc(size);
  return next_aligned(kPage, size);
}

TP_EXPORT void *pvalloc(size_t size) {
  size_t rounded = 0;
  if (__builtin_add_overflow(size, kPage - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  rounded &= ~(kPage - 1);
  if (rounded == 0) rounded = kPage;
  if (TP_UNLIKELY(candidate(rounded))) {
    if (void *p = tier_place(rounded, kPage, false)) return p;
  }
  if (TP_LIKELY(next_ready()) && g_next.pvalloc != nullptr) return g_next.pvalloc(size);
  return next_aligned(kPage, rounded);
}

TP_EXPORT size_t malloc_usable_size(void *p) {
  if (p == nullptr) return 0;
  if (TP_UNLIKELY(bootstrap_owns(p))) return bootstrap_size(p);
  if (tier_runtime *rt = owner_of(p)) return tier_size(rt, p);
  if (TP_UNLIKELY(!next_ready()) || g_next.usable_size == nullptr) return 0;
  return g_next.usable_size(p);
}

}  // extern "C"
