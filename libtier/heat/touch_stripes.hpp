// touch_stripes.hpp - per-thread counter stripes: a touch is a plain add, not a locked one.
//
// A relaxed fetch_add is a lock-prefixed instruction on x86, and on the VMs Tier is measured
// on that alone costs more than the whole 5 ns a touch may take. So a thread counts into a
// stripe of counters that only it writes, with a relaxed load and a relaxed store (compiled to
// a plain add), and readers sum the stripes: a chunk's count is its shared counter
// (Chunk::counts) plus its counter in every stripe.
//
// - Stripe ids are process-wide: a thread claims one of kTouchStripes - 1 ids on its first
//   touch and gives it back when it exits. The same id is the thread's stripe in every chunk
//   table. Threads beyond that (more than 7 touching at once) and a thread that could not get
//   memory for its page fall back to the locked add on the shared counter: slower, still exact.
// - A stripe of a table is a directory of pages of kPageSlots counters (32 KiB), indexed by
//   slot id; the owning thread allocates its directory and pages when it first touches a slot
//   they cover. Memory is at most (kTouchStripes - 1) x 8 bytes per slot handed out, under
//   the 64-byte Chunk each slot already costs, plus one directory (8 bytes per 4096 slots of
//   max_chunks) per stripe that touched the table; typical use (a few threads, each touching
//   part of the table) is far less.
// - Nothing is ever pending: an add is a store to memory every reader can load, so a thread
//   that touches once and sleeps is seen by the next epoch like any other. A stripe's counts
//   outlive its thread (they are cumulative; the next owner of the id continues them), so
//   thread exit loses nothing either. Ownership passes through the release/acquire of the
//   process-wide claim mask, so there is only ever one writer per counter.
// - Counters are cumulative and never reset (their writers cannot be stopped); a slot reused
//   by a new region starts from the sum it has (ChunkTable::register_region).
//
// Thread-safety: add() from any thread; sum() from any thread (relaxed loads of counters whose
// pages are published with release). Construction and destruction with no touch running.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tier::heat {

inline constexpr unsigned kTouchStripes = 8;  // id 0 = none: the shared counter

namespace detail {
struct TouchThread {
  unsigned stripe;  // 1 .. kTouchStripes-1, 0 = none (yet)
  bool exiting;     // the stripe was given back at thread exit: stay on the shared counter
};
// constinit and trivially destructible: the hot path reads it without a TLS wrapper call.
extern thread_local constinit TouchThread t_touch;
}  // namespace detail

// The calling thread's stripe id, claiming one if it has none and one is free; 0 = none.
unsigned claim_touch_stripe();
// Stripe ids owned by live threads now (for tests and stats).
unsigned touch_stripes_taken();

class TouchStripes {
 public:
  static constexpr unsigned kPageBits = 12;  // 4096 counters = 32 KiB per page
  static constexpr uint32_t kPageSlots = 1u << kPageBits;

  explicit TouchStripes(uint64_t max_slots);
  ~TouchStripes();
  TouchStripes(const TouchStripes &) = delete;
  TouchStripes &operator=(const TouchStripes &) = delete;

  // Adds `v` to the calling thread's counter of `slot`. False when the thread has no stripe
  // (or no memory for the page): the caller adds to the shared counter instead.
  bool add(uint32_t slot, uint64_t v) {
    // dirs_[0] is always null, so a thread without a stripe takes the slow path here too.
    const std::atomic<Counter *> *dir =
        dirs_[detail::t_touch.stripe].load(std::memory_order_relaxed);
    if (dir) {
      // Relaxed: only this thread writes its directory and pages (or a previous owner of the
      // id, whose writes the claim's acquire made visible).
      if (Counter *page = dir[slot >> kPageBits].load(std::memory_order_relaxed)) {
        Counter &c = page[slot & (kPageSlots - 1)];
        c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
        return true;
      }
    }
    return add_slow(slot, v);
  }

  // The sum of every stripe's counter of `slot` (modulo 2^64).
  uint64_t sum(uint32_t slot) const;
  // Bytes allocated for stripes now.
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  using Counter = std::atomic<uint64_t>;
  bool add_slow(uint32_t slot, uint64_t v);

  size_t pages_;  // directory entries: max_slots / kPageSlots, rounded up
  std::atomic<std::atomic<Counter *> *> dirs_[kTouchStripes] = {};
  std::atomic<size_t> bytes_{0};
};

}  // namespace tier::heat
