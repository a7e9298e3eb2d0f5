// fork.cpp - pthread_atfork handlers for Tier's mutexes (see fork.hpp for the ordering rule).
//
// Thread-safety: the runtime list is guarded by g_list_mu, which the outer prepare handler
// holds from before the fork until the parent/child handlers release it, so the inner handlers
// may walk the list without taking it again.
#include "alloc/fork.hpp"

#include <pthread.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "alloc/runtime.hpp"

namespace tier::alloc {
namespace {

std::mutex g_list_mu;
// A plain vector: it only changes on runtime create/destroy, under g_list_mu.
std::vector<tier_runtime *> &runtimes() {
  static auto *list = new std::vector<tier_runtime *>;  // never destroyed: used at exit/fork
  return *list;
}

void outer_prepare() {
  default_runtime_mutex().lock();
  g_list_mu.lock();
  for (tier_runtime *rt : runtimes()) rt->placements_mu.lock();
}
void outer_release() {
  for (tier_runtime *rt : runtimes()) rt->placements_mu.unlock();
  g_list_mu.unlock();
  default_runtime_mutex().unlock();
}
void inner_prepare() {
  for (tier_runtime *rt : runtimes()) rt->chunks.mu.lock();
}
void inner_release() {
  for (tier_runtime *rt : runtimes()) rt->chunks.mu.unlock();
}

}  // namespace

std::mutex &default_runtime_mutex() {
  static std::mutex mu;
  return mu;
}

void register_inner_fork_handlers() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(inner_prepare, inner_release, inner_release); });
}

namespace {
// jemalloc initialises itself, and registers its fork handlers, from a constructor of default
// priority when libtier is loaded. The inner handlers must be registered before that, so that
// jemalloc's prepare handler runs before ours (reverse order): otherwise a thread inside an
// extent hook, holding a jemalloc mutex and waiting for a chunk mutex, deadlocks the fork.
__attribute__((constructor(101))) void register_inner_before_jemalloc() {
  register_inner_fork_handlers();
}
}  // namespace
void register_outer_fork_handlers() {
  pthread_atfork(outer_prepare, outer_release, outer_release);
}

void track_runtime(tier_runtime *rt) {
  std::lock_guard<std::mutex> lock(g_list_mu);
  runtimes().push_back(rt);
}

void untrack_runtime(tier_runtime *rt) {
  std::lock_guard<std::mutex> lock(g_list_mu);
  auto &list = runtimes();
  list.erase(std::remove(list.begin(), list.end(), rt), list.end());
}

}  // namespace tier::alloc
