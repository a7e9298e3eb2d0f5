// write_guard.cpp - the SIGSEGV handler that parks writers of a chunk under relocation.
//
// Slot life: kFree -> (claim) kClaiming -> kActive -> (guard_end) kFree. A released range is
// also written into a ring of recent releases with its time: a fault raised while the range was
// protected may reach the handler only after the release (the thread was preempted in
// between), and must then simply retry. A stale or torn match (an entry being rewritten while
// the handler reads it) only costs one retry of the instruction, never a lost fault: a genuine
// fault faults again and is chained once the range has aged out of the grace period.
#include "migrate/write_guard.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace tier::migrate {
namespace {

enum : uint32_t { kFree = 0, kClaiming = 1, kActive = 2 };
// A fault raised before a release must be recognised after it. 250 ms is far beyond the delay
// between a fault and its handler short of a stopped process, and bounds how long a genuine
// fault in a just-relocated range is retried before it is passed on.
constexpr uint64_t kGraceNs = 250000000ull;
constexpr unsigned kRecent = 256;

struct alignas(64) Slot {
  std::atomic<uint32_t> state{kFree};
  std::atomic<uintptr_t> start{0}, end{0};
};
struct Recent {
  std::atomic<uintptr_t> start{0}, end{0};
  std::atomic<uint64_t> released_ns{0};
};

Slot g_slots[kGuardSlots];
Recent g_recent[kRecent];
std::atomic<FaultHook> g_hook{nullptr};
// Hooks in flight (between hook_enter and hook_leave). Sequentially consistent with the slot
// state, as in Dekker's algorithm: either guard_begin sees the hook in flight and waits, or
// the hook sees the published slot and does nothing.
std::atomic<uint32_t> g_hooks_in_flight{0};
std::atomic<uint32_t> g_recent_next{0};
std::atomic<uint64_t> g_waits{0}, g_chained{0};

// The handler we displaced. Written under g_install_mu before our handler is installed, and
// never while ours is the installed one, so the handler reads a stable value.
struct sigaction g_previous;
std::mutex g_install_mu;

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void futex_wait(std::atomic<uint32_t> *word, uint32_t expected) {
  // A timeout bounds the wait should a wake be missed (it cannot be, but a sleeping writer
  // must never hang on a bug here).
  timespec ts{0, 10 * 1000 * 1000};
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr,
          0);
}

void futex_wake_all(std::atomic<uint32_t> *word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr,
          nullptr, 0);
}

void chain(int sig, siginfo_t *info, void *ctx) {
  g_chained.fetch_add(1, std::memory_order_relaxed);
  const struct sigaction &prev = g_previous;
  if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
    prev.sa_sigaction(sig, info, ctx);
    return;
  }
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Default (or ignored, which for a synchronous fault would spin forever): restore the
  // default action; returning re-runs the instruction, which now kills the process as usual.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
}

void on_segv(int sig, siginfo_t *info, void *ctx) {
  if (info && info->si_code == SEGV_ACCERR) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(info->si_addr);
    for (Slot &s : g_slots) {
      if (s.state.load(std::memory_order_acquire) != kActive) continue;
      const uintptr_t start = s.start.load(std::memory_order_acquire);
      const uintptr_t end = s.end.load(std::memory_order_acquire);
      if (a < start || a >= end) continue;
      g_waits.fetch_add(1, std::memory_order_relaxed);
      // Wait while this slot still guards the same range (it may be freed and re-claimed).
      while (s.state.load(std::memory_order_acquire) == kActive &&
             s.start.load(std::memory_order_acquire) == start)
        futex_wait(&s.state, kActive);
      return;  // the instruction runs again on the relocated, writable pages
    }
    const uint64_t now = now_ns();
    for (Recent &r : g_recent) {
      if (a < r.start.load(std::memory_order_acquire) || a >= r.end.load(std::memory_order_acquire))
        continue;
      if (now - r.released_ns.load(std::memory_order_acquire) > kGraceNs) continue;
      g_waits.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (FaultHook hook = g_hook.load(std::memory_order_acquire); hook && hook(a)) return;
  }
  chain(sig, info, ctx);
}

// Installs on_segv unless it is already the SIGSEGV handler.
Status ensure_installed() {
  std::lock_guard lock(g_install_mu);
  struct sigaction cur;
  if (sigaction(SIGSEGV, nullptr, &cur) != 0) return os_error("sigaction(SIGSEGV) query");
  if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv) return {};
  g_previous = cur;
  struct sigaction ours = {};
  ours.sa_sigaction = on_segv;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&ours.sa_mask);
  if (sigaction(SIGSEGV, &ours, nullptr) != 0) return os_error("sigaction(SIGSEGV) install");
  return {};
}

}  // namespace

Result<int> guard_begin(uintptr_t addr, size_t len) {
  if (Status s = ensure_installed(); !s) return std::move(s).error();
  for (int attempt = 0; attempt < 1000; ++attempt) {
    for (int i = 0; i < kGuardSlots; ++i) {
      Slot &s = g_slots[i];
      uint32_t st = s.state.load(std::memory_order_acquire);
      if (st != kFree) continue;
      if (!s.state.compare_exchange_strong(st, kClaiming, std::memory_order_acq_rel)) continue;
      s.start.store(addr, std::memory_order_relaxed);
      s.end.store(addr + len, std::memory_order_relaxed);
      s.state.store(kActive, std::memory_order_seq_cst);
      // A fault hook that had not yet seen this slot may be re-enabling access to a page of
      // the range; the caller protects the range only after it has finished.
      while (g_hooks_in_flight.load(std::memory_order_seq_cst) != 0) sched_yield();
      return i;
    }
    usleep(1000);
  }
  return make_error(TIER_EBUSY, "write guard: all " + std::to_string(kGuardSlots) +
                                    " relocation slots are in use");
}

void guard_end(int slot) {
  Slot &s = g_slots[slot];
  // Record the release before freeing the slot, so a late fault always finds one of the two.
  Recent &r = g_recent[g_recent_next.fetch_add(1, std::memory_order_relaxed) % kRecent];
  r.released_ns.store(now_ns(), std::memory_order_relaxed);
  r.start.store(s.start.load(std::memory_order_relaxed), std::memory_order_relaxed);
  r.end.store(s.end.load(std::memory_order_relaxed), std::memory_order_release);
  s.state.store(kFree, std::memory_order_release);
  futex_wake_all(&s.state);
}

bool guard_active(uintptr_t addr) {
  for (Slot &s : g_slots)
    if (s.state.load(std::memory_order_seq_cst) == kActive &&
        addr >= s.start.load(std::memory_order_acquire) &&
        addr < s.end.load(std::memory_order_acquire))
      return true;
  return false;
}

void hook_enter() {
  g_hooks_in_flight.fetch_add(1, std::memory_order_seq_cst);
}
void hook_leave() {
  g_hooks_in_flight.fetch_sub(1, std::memory_order_seq_cst);
}

Status set_fault_hook(FaultHook hook) {
  if (hook)
    if (Status s = ensure_installed(); !s) return s;
  g_hook.store(hook, std::memory_order_release);
  return {};
}

uint64_t guard_waits() {
  return g_waits.load(std::memory_order_relaxed);
}
uint64_t guard_chained() {
  return g_chained.load(std::memory_order_relaxed);
}

}  // namespace tier::migrate
