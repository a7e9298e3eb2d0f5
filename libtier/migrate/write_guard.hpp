// write_guard.hpp - lets writers wait, instead of crashing, while a chunk is being relocated.
//
// Relocation (relocate.hpp) write-protects a chunk, copies it and maps the copy over it. A
// thread that writes the chunk meanwhile takes a protection fault (SIGSEGV, SEGV_ACCERR). The
// handler installed here looks the address up in a small fixed table of guarded ranges; if it
// lies in a range under relocation, the thread sleeps on a futex until the range is released
// and then returns, so the faulting instruction runs again, now on the relocated writable
// pages. Ranges stay listed for a grace period after release (a fault raised just before the
// release may reach the handler just after it). Any other fault is chained to the handler that
// was installed before ours, or, when that was the default action, the default is restored so
// the retried instruction kills the process as it would have without Tier.
//
// The handler is async-signal-safe: atomics, clock_gettime and futex(2) only. It is
// (re)installed by guard_begin() whenever another handler replaced it (test frameworks and
// sanitizers install their own per test), chaining to whatever it displaces.
//
// Limit: only instructions fault. A system call that writes into a protected range (read(2)
// into the buffer, for instance) fails with EFAULT instead, which is why only Tier-owned memory
// is relocated this way and why docs/migration.md says so.
//
// Thread-safety: guard_begin/guard_end are safe from any thread; up to kGuardSlots ranges can
// be guarded at once (guard_begin waits briefly for a free slot, then reports TIER_EBUSY).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/result.hpp"

namespace tier::migrate {

inline constexpr int kGuardSlots = 64;

// Marks [addr, addr+len) as under relocation; faults in it wait until guard_end(slot).
Result<int> guard_begin(uintptr_t addr, size_t len);
void guard_end(int slot);

// A second user of the same handler: the sampled protection-fault heat source. The hook sees
// every SEGV_ACCERR fault outside guarded ranges and returns true when the fault was its own
// (it has made the page accessible again), false to let the fault be chained. It must be
// async-signal-safe. Hooks bracket their re-enabling of access with hook_enter/hook_leave, and
// check guard_active() between them: relocation waits for hooks in flight after publishing
// its range, so a hook can never make a page writable while it is being copied.
using FaultHook = bool (*)(uintptr_t addr);
Status set_fault_hook(FaultHook hook);  // nullptr removes it; installs the handler
bool guard_active(uintptr_t addr);      // async-signal-safe
void hook_enter();                      // async-signal-safe
void hook_leave();                      // async-signal-safe

// Statistics (for tests and the agent): faults that waited, and faults passed on.
uint64_t guard_waits();
uint64_t guard_chained();

}  // namespace tier::migrate
