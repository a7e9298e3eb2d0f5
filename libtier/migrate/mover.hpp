// mover.hpp - the versioned interface of movers: what carries a move plan out.
//
// A mover receives ranges (a chunk's address span, the node it should go to, the node the
// engine believes it is on) and moves their pages. Two implementations exist:
//   numa      move_pages(2) through prim::ops(), for real NUMA nodes, on this process or on
//             another pid (the daemon's case): query first, drop pages already on the target,
//             batch by target, retry EBUSY/EAGAIN a bounded number of times, report the rest.
//   emulated  virtual nodes of an emulated topology: records the granule's node in the page
//             map, moves the node accounting (refusing a target without room), charges the
//             cost model, and physically relocates the bytes to the target's backing node
//             (relocate.hpp), so migration is exercised for real on a one-node machine.
// Both honour a byte-rate limit (token bucket) and report bytes moved, pages failed and time.
//
// Writing a mover: fill a MoverOps with version = kMoverOpsVersion first, a name, and move()
// (destroy() may be null); wrap it in a Mover with Mover::adopt(). move() must fill one
// RangeOutcome per range, never stop at the first failure, and account every page of every
// range in exactly one of MoveStats::{pages_moved, pages_skipped, pages_failed, pages_absent}.
// tests/unit/test_migrate_conformance.cpp checks every mover against this contract.
//
// Thread-safety: a Mover instance is used by one thread at a time (the agent's epoch thread,
// or a daemon worker). Different instances may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/result.hpp"

struct tier_runtime;

namespace tier::migrate {

// Bumped whenever an entry is added, removed or changes meaning.
inline constexpr uint32_t kMoverOpsVersion = 1;

struct MoveRange {
  uintptr_t addr = 0;  // page-aligned (granule-aligned for the emulated mover)
  size_t bytes = 0;    // multiple of the page size
  int32_t from = -1;   // node the engine believes the range is on (-1 = unknown)
  int32_t to = -1;     // target node
  uint64_t chunk = 0;  // caller's id (chunk slot), echoed in the outcome
};

// The range of whole pages covering [addr, addr+bytes): move_pages moves pages, and a chunk's
// edges (a region's first and last chunk) need not be page-aligned.
inline MoveRange page_cover(uintptr_t addr, uint64_t bytes, size_t page_size) {
  MoveRange r;
  r.addr = addr & ~(page_size - 1);
  r.bytes = ((addr + bytes + page_size - 1) & ~(page_size - 1)) - r.addr;
  return r;
}

enum class Outcome : uint8_t {
  kMoved = 0,    // every page that needed it was moved (some may already have been there)
  kInPlace = 1,  // nothing to do: every page already on the target (or never faulted in)
  kPartial = 2,  // some pages moved, some failed (see errno)
  kFailed = 3,   // nothing moved (see errno)
  kRefused = 4,  // the target has no room (emulated capacity); nothing moved
};
const char *outcome_name(Outcome outcome);
// Whether an outcome leaves the range (or most of it) on its target: the engine then records
// the move. A partial move leaves most of the chunk there; the next epoch's plan sees it
// there, and the remaining pages follow when the chunk is moved again.
inline bool landed(Outcome o) {
  return o == Outcome::kMoved || o == Outcome::kInPlace || o == Outcome::kPartial;
}

struct RangeOutcome {
  uint64_t chunk = 0;
  Outcome outcome = Outcome::kFailed;
  int error = 0;  // positive errno of the first failure, 0 when none
  uint64_t bytes_moved = 0;
  uint32_t pages_failed = 0;
};

struct MoveStats {
  uint64_t bytes_moved = 0;
  uint64_t pages_moved = 0;
  uint64_t pages_skipped = 0;  // already on their target
  uint64_t pages_absent = 0;   // never faulted in (nothing to move; move_pages says -ENOENT)
  uint64_t pages_failed = 0;   // could not be moved after retries
  uint64_t pages_retried = 0;  // EBUSY/EAGAIN retries issued
  uint64_t calls = 0;          // move_pages calls, or relocations
  uint64_t ranges_refused = 0;
  uint64_t elapsed_ns = 0;    // wall time of move(), including rate-limit waits
  uint64_t throttled_ns = 0;  // of which spent waiting for the byte-rate limit
  double modelled_s = 0;      // emulated: migration time the cost model charges

  MoveStats &operator+=(const MoveStats &o);
};

struct MoverOps {
  uint32_t version = kMoverOpsVersion;  // first, always
  const char *name = nullptr;
  // Moves `count` ranges in order; outcomes[i] is filled for ranges[i]; stats are added to.
  // An Error only for a failure of the mover itself (bad arguments, out of memory); per-page
  // and per-range failures are outcomes, not errors.
  Status (*move)(void *state, const MoveRange *ranges, size_t count, RangeOutcome *outcomes,
                 MoveStats *stats) = nullptr;
  void (*destroy)(void *state) = nullptr;
};

// A byte-rate limit shared by both movers: 0 = unlimited.
struct RateLimit {
  uint64_t bytes_per_second = 0;
  uint64_t burst_bytes = 64ull << 20;  // bucket size (the largest burst at full speed)
};

struct NumaMoverOptions {
  int pid = 0;                 // 0 = this process; another pid needs CAP_SYS_NICE or same uid
  uint32_t batch_pages = 512;  // pages per move_pages(2) call
  uint32_t max_retries = 3;    // extra attempts for pages that came back EBUSY/EAGAIN
  uint32_t retry_backoff_us = 100;
  size_t page_size = 4096;  // the pages move_pages is handed (the kernel moves THPs whole)
  RateLimit rate;
};

struct EmulatedMoverOptions {
  RateLimit rate;
  // Copy the bytes into pages bound to the target's backing node (relocate.hpp). Off only in
  // tests of the accounting itself.
  bool relocate = true;
};

class Mover {
 public:
  static Result<Mover> numa(const NumaMoverOptions &options = {});
  // `rt` must be an emulated runtime and outlive the mover.
  static Result<Mover> emulated(tier_runtime *rt, const EmulatedMoverOptions &options = {});
  // Takes ownership of `state` (released with ops->destroy); checks the version.
  static Result<Mover> adopt(const MoverOps *ops, void *state);

  Mover(Mover &&other) noexcept : ops_(other.ops_), state_(other.state_) {
    other.ops_ = nullptr, other.state_ = nullptr;
  }
  Mover &operator=(Mover &&other) noexcept;
  Mover(const Mover &) = delete;
  Mover &operator=(const Mover &) = delete;
  ~Mover();

  const char *name() const { return ops_->name; }
  Status move(const MoveRange *ranges, size_t count, RangeOutcome *outcomes, MoveStats *stats) {
    return ops_->move(state_, ranges, count, outcomes, stats);
  }
  Status move(const std::vector<MoveRange> &ranges, std::vector<RangeOutcome> *outcomes,
              MoveStats *stats) {
    outcomes->assign(ranges.size(), RangeOutcome{});
    return move(ranges.data(), ranges.size(), outcomes->data(), stats);
  }

 private:
  Mover(const MoverOps *ops, void *state) : ops_(ops), state_(state) {}
  const MoverOps *ops_ = nullptr;
  void *state_ = nullptr;
};

// Internal constructors' ops tables (for Mover::numa / emulated).
const MoverOps &numa_mover_ops();
const MoverOps &emulated_mover_ops();

}  // namespace tier::migrate
