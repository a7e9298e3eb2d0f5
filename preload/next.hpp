// next.hpp - the allocator next in line (RTLD_NEXT: glibc's, or a preloaded/linked jemalloc
// such as redis-server's), and the static bootstrap buffer that serves requests made while
// that allocator is being looked up (dlsym itself calls calloc).
//
// Thread-safety: resolution happens once; a thread that finds it in progress is served from
// the bootstrap buffer (an atomic bump pointer), so no thread ever blocks in malloc on it.
#pragma once

#include <atomic>
#include <cstddef>

namespace tier::preload {

struct NextAllocator {
  void *(*malloc)(size_t) = nullptr;
  void (*free)(void *) = nullptr;
  void *(*calloc)(size_t, size_t) = nullptr;
  void *(*realloc)(void *, size_t) = nullptr;
  int (*posix_memalign)(void **, size_t, size_t) = nullptr;
  // Optional in the next allocator: when missing, emulated with posix_memalign.
  void *(*memalign)(size_t, size_t) = nullptr;
  void *(*aligned_alloc)(size_t, size_t) = nullptr;
  void *(*valloc)(size_t) = nullptr;
  void *(*pvalloc)(size_t) = nullptr;
  size_t (*usable_size)(void *) = nullptr;
};

extern NextAllocator g_next;
extern std::atomic<int> g_next_state;  // 0 unresolved, 1 resolving, 2 ready

// Resolves g_next. Returns false while another thread (or this one, re-entered from dlsym) is
// resolving it: the caller then uses the bootstrap buffer.
bool resolve_next_slow();
inline bool next_ready() {
  return g_next_state.load(std::memory_order_acquire) == 2 || resolve_next_slow();
}

// The bootstrap buffer: a bump allocator over a static array; frees are ignored (the few
// blocks dlsym and early start-up ask for are tiny).
void *bootstrap_alloc(size_t size, size_t alignment, bool zero);
bool bootstrap_owns(const void *p);
size_t bootstrap_size(const void *p);  // usable size of a bootstrap block

}  // namespace tier::preload
