// next.cpp - resolving the next allocator with dlsym(RTLD_NEXT), and the bootstrap buffer.
//
// Why a bootstrap buffer: dlsym allocates (calloc for its error state) and, during start-up,
// the loader may call malloc before this library's constructor ran. Requests made while the
// symbols are being resolved are carved from a static array and never handed to the next
// allocator; free() recognises them by address and ignores them.
// Thread-safety: see next.hpp.
#include "next.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace tier::preload {

NextAllocator g_next;
std::atomic<int> g_next_state{0};

namespace {

constexpr size_t kBootstrapBytes = 256 * 1024;
constexpr size_t kHeader = 16;  // each block is preceded by its size, keeping 16-byte alignment
alignas(64) unsigned char g_buffer[kBootstrapBytes];
std::atomic<size_t> g_used{0};

template <class F>
void lookup(F &fn, const char *name) {
  fn = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void die(const char *msg) {
  // Nothing can be allocated at this point: write(2) and _exit are all that is safe.
  ssize_t r = write(2, msg, std::strlen(msg));
  (void)r;
  _exit(127);
}

}  // namespace

bool resolve_next_slow() {
  int expected = 0;
  if (!g_next_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel))
    return expected == 2;
  NextAllocator n;
  lookup(n.malloc, "malloc");
  lookup(n.free, "free");
  lookup(n.calloc, "calloc");
  lookup(n.realloc, "realloc");
  lookup(n.posix_memalign, "posix_memalign");
  lookup(n.memalign, "memalign");
  lookup(n.aligned_alloc, "aligned_alloc");
  lookup(n.valloc, "valloc");
  lookup(n.pvalloc, "pvalloc");
  lookup(n.usable_size, "malloc_usable_size");
  if (!n.malloc || !n.free || !n.calloc || !n.realloc || !n.posix_memalign) {
    // Without a next allocator the process cannot run at all; say why instead of crashing.
    die("libtier-preload: no next allocator (dlsym(RTLD_NEXT, \"malloc\") failed)\n");
  }
  g_next = n;
  g_next_state.store(2, std::memory_order_release);
  return true;
}

void *bootstrap_alloc(size_t size, size_t alignment, bool zero) {
  if (alignment < kHeader) alignment = kHeader;
  if (size > kBootstrapBytes || alignment > 4096) return nullptr;
  size_t need = size + kHeader + alignment;
  size_t start = g_used.fetch_add(need, std::memory_order_relaxed);
  if (start + need > kBootstrapBytes) return nullptr;
  uintptr_t base = reinterpret_cast<uintptr_t>(g_buffer) + start + kHeader;
  uintptr_t p = (base + alignment - 1) & ~(uintptr_t{alignment} - 1);
  std::memcpy(reinterpret_cast<void *>(p - kHeader), &size, sizeof size);
  // The static buffer starts zeroed and is never reused, so `zero` needs no work.
  (void)zero;
  return reinterpret_cast<void *>(p);
}

bool bootstrap_owns(const void *p) {
  auto a = reinterpret_cast<uintptr_t>(p);
  auto b = reinterpret_cast<uintptr_t>(g_buffer);
  return a >= b && a < b + kBootstrapBytes;
}

size_t bootstrap_size(const void *p) {
  size_t size = 0;
  std::memcpy(&size, static_cast<const unsigned char *>(p) - kHeader, sizeof size);
  return size;
}

}  // namespace tier::preload
