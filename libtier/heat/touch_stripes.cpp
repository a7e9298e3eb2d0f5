// touch_stripes.cpp - claiming and giving back stripe ids, and a table's stripe pages.
//
// Thread-safety: see touch_stripes.hpp. The claim mask is the only shared state; a stripe's
// directory and pages are written only by the thread that owns the stripe id.
#include "heat/touch_stripes.hpp"

#include <pthread.h>

#include <mutex>
#include <new>

namespace tier::heat {

namespace detail {
thread_local constinit TouchThread t_touch{0, false};
}

namespace {

// Bit s set = stripe id s is owned by a live thread. Bit 0 is never set.
std::atomic<uint32_t> g_taken{0};
constexpr uint32_t kOwnable = ((1u << kTouchStripes) - 1) & ~1u;

void give_back() {
  detail::TouchThread &t = detail::t_touch;
  t.exiting = true;
  if (!t.stripe) return;
  // Release: the next owner of the id sees every add this thread made to its counters.
  g_taken.fetch_and(~(1u << t.stripe), std::memory_order_release);
  t.stripe = 0;
}

// Constructed on a thread's first claim; its destructor runs at thread exit.
struct GiveBackAtExit {
  ~GiveBackAtExit() { give_back(); }
};

// A forked child has only the forking thread: the other ids are free again there.
void after_fork_in_child() {
  const unsigned s = detail::t_touch.stripe;
  g_taken.store(s ? 1u << s : 0, std::memory_order_relaxed);
}

}  // namespace

unsigned claim_touch_stripe() {
  detail::TouchThread &t = detail::t_touch;
  if (t.stripe || t.exiting) return t.stripe;
  uint32_t taken = g_taken.load(std::memory_order_relaxed);
  for (;;) {
    const uint32_t free = ~taken & kOwnable;
    if (!free) return 0;  // all owned: this thread uses the shared counter, and asks again later
    const unsigned s = static_cast<unsigned>(__builtin_ctz(free));
    // Acquire: the previous owner's adds to the id's counters happen before ours.
    if (g_taken.compare_exchange_weak(taken, taken | (1u << s), std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      static std::once_flag fork_handler;
      std::call_once(fork_handler, [] { pthread_atfork(nullptr, nullptr, after_fork_in_child); });
      static thread_local GiveBackAtExit at_exit;
      (void)&at_exit;
      t.stripe = s;
      return s;
    }
  }
}

unsigned touch_stripes_taken() {
  return static_cast<unsigned>(__builtin_popcount(g_taken.load(std::memory_order_relaxed)));
}

TouchStripes::TouchStripes(uint64_t max_slots)
    : pages_(static_cast<size_t>((max_slots + kPageSlots - 1) >> kPageBits)) {}

TouchStripes::~TouchStripes() {
  for (auto &d : dirs_) {
    std::atomic<Counter *> *dir = d.load(std::memory_order_acquire);
    if (!dir) continue;
    for (size_t p = 0; p < pages_; ++p)
      if (Counter *page = dir[p].load(std::memory_order_relaxed))
        ::operator delete[](page, std::align_val_t{64});
    delete[] dir;
  }
}

bool TouchStripes::add_slow(uint32_t slot, uint64_t v) {
  const unsigned s = claim_touch_stripe();
  if (!s) return false;
  std::atomic<Counter *> *dir = dirs_[s].load(std::memory_order_relaxed);
  if (!dir) {
    dir = new (std::nothrow) std::atomic<Counter *>[pages_]();
    if (!dir) return false;
    bytes_.fetch_add(pages_ * sizeof *dir, std::memory_order_relaxed);
    // Release: a reader that sees the directory sees it zeroed.
    dirs_[s].store(dir, std::memory_order_release);
  }
  Counter *page = dir[slot >> kPageBits].load(std::memory_order_relaxed);
  if (!page) {
    // Aligned, so that no two stripes' pages share a cache line.
    void *mem = ::operator new[](kPageSlots * sizeof(Counter), std::align_val_t{64}, std::nothrow);
    if (!mem) return false;
    page = static_cast<Counter *>(mem);
    for (uint32_t i = 0; i < kPageSlots; ++i) new (&page[i]) Counter(0);
    bytes_.fetch_add(kPageSlots * sizeof(Counter), std::memory_order_relaxed);
    dir[slot >> kPageBits].store(page, std::memory_order_release);
  }
  Counter &c = page[slot & (kPageSlots - 1)];
  c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  return true;
}

uint64_t TouchStripes::sum(uint32_t slot) const {
  uint64_t total = 0;
  for (unsigned s = 1; s < kTouchStripes; ++s) {
    const std::atomic<Counter *> *dir = dirs_[s].load(std::memory_order_acquire);
    if (!dir) continue;
    if (const Counter *page = dir[slot >> kPageBits].load(std::memory_order_acquire))
      total += page[slot & (kPageSlots - 1)].load(std::memory_order_relaxed);
  }
  return total;
}

}  // namespace tier::heat
