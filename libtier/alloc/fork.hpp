// fork.hpp - keeping Tier's locks consistent across fork(2), and the list of live runtimes.
//
// A child of a multithreaded parent must be able to allocate, so no lock may be left held by a
// thread that does not exist in the child. Lock classes (runtime.hpp): "outer" locks (the
// runtime list, each runtime's placement mutex) can be held while calling into jemalloc, so
// they are taken before jemalloc's own prefork handler; "inner" locks (each runtime's chunk
// mutex) are taken inside jemalloc's extent hooks, so they are taken after it. pthread_atfork
// runs prepare handlers in reverse registration order, hence: inner handlers are registered
// before jemalloc initialises (from an early-priority constructor, fork.cpp: jemalloc's own
// constructor initialises it at load time), outer ones after (arena.cpp, init_allocator_once).
// Thread-safety: all functions are thread-safe.
#pragma once

#include <mutex>

struct tier_runtime;

namespace tier::alloc {

void register_inner_fork_handlers();
void register_outer_fork_handlers();

// The live runtimes, walked by the fork handlers.
void track_runtime(tier_runtime *rt);
// Guards creation of the process-wide default runtime (an outer lock, taken first).
std::mutex &default_runtime_mutex();
void untrack_runtime(tier_runtime *rt);

}  // namespace tier::alloc
