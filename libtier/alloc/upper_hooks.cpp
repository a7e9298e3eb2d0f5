// upper_hooks.cpp - the table of calls into the layer above the allocator (see upper_hooks.hpp).
#include "alloc/upper_hooks.hpp"

#include <pthread.h>

#include <atomic>

namespace tier::alloc {

namespace {

std::atomic<const UpperHooks *> g_hooks{nullptr};

void prepare() {
  if (const UpperHooks *h = g_hooks.load(std::memory_order_acquire); h && h->fork_prepare)
    h->fork_prepare();
}
void release() {
  if (const UpperHooks *h = g_hooks.load(std::memory_order_acquire); h && h->fork_release)
    h->fork_release();
}

}  // namespace

void install_upper_hooks(const UpperHooks *hooks) {
  g_hooks.store(hooks, std::memory_order_release);
}

void notify_before_free(tier_runtime *rt, const void *ptr, size_t len) {
  if (const UpperHooks *h = g_hooks.load(std::memory_order_acquire); h && h->before_free)
    h->before_free(rt, ptr, len);
}

void notify_runtime_destroy(tier_runtime *rt) {
  if (const UpperHooks *h = g_hooks.load(std::memory_order_acquire); h && h->on_runtime_destroy)
    h->on_runtime_destroy(rt);
}

void register_upper_fork_handlers() {
  // Called once, from the allocator's one-time initialisation.
  pthread_atfork(prepare, release, release);
}

}  // namespace tier::alloc
