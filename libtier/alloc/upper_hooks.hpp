// upper_hooks.hpp - the allocator's calls into the layer above it, as a table that layer installs.
//
// Data flows one way (topology -> alloc -> heat -> policy -> migrate), yet the allocator must
// tell the in-process agent about three events: a run about to be freed (regions inside it are
// forgotten and a running epoch finishes first, so memory is never moved while it is freed), a
// runtime about to be destroyed (its agent stops first), and fork(2) (the agents' epoch locks are
// taken before any allocator lock, since an epoch allocates under its lock). The agent installs
// this table when it creates its first agent; until then there is nothing to tell.
//
// Fork order: the allocator registers its hook trampolines right after its outer fork handlers
// (arena.cpp), so fork_prepare runs before the allocator's prepare handlers and after those of
// libtier's callers (the preload shim registers regions under its own mutex), and fork_release
// runs after the allocator's parent and child handlers.
//
// Thread-safety: install_upper_hooks() may race with the calls below; the table is published
// with release/acquire ordering and must outlive the process (static storage).
#pragma once

#include <cstddef>

struct tier_runtime;

namespace tier::alloc {

struct UpperHooks {
  void (*before_free)(tier_runtime *rt, const void *ptr, size_t len) = nullptr;
  void (*on_runtime_destroy)(tier_runtime *rt) = nullptr;
  void (*fork_prepare)() = nullptr;
  void (*fork_release)() = nullptr;
};

void install_upper_hooks(const UpperHooks *hooks);

// The calls the allocator makes; each does nothing until hooks are installed.
void notify_before_free(tier_runtime *rt, const void *ptr, size_t len);
void notify_runtime_destroy(tier_runtime *rt);
// Registers the fork trampolines (once; from the allocator's initialisation).
void register_upper_fork_handlers();

}  // namespace tier::alloc
