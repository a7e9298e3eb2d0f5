// emulated_mover.cpp - the mover for virtual nodes of an emulated topology.
//
// Per 2 MiB granule of each range: check that the granule is a large allocation of this
// runtime (the page map); skip it when already recorded on the target; reserve a granule on the
// target node (refusing the range when the target has no room: capacity is what emulation
// enforces); relocate the bytes onto pages bound to the target's backing node (relocate.hpp);
// then record the target in the page map, release the source's reservation and move the
// allocated-bytes accounting, so tier_where, tier_node_stats and tier_free all see the move.
// The cost model charges what the move would have cost between the real devices.
//
// Thread-safety: one thread per mover instance. The page map and node counters are atomics
// shared with allocating threads; a granule must not be freed while it is moved (the agent
// holds its move lock, and the allocator's free path calls the agent's before_free hook).
#include <errno.h>

#include <memory>
#include <string>

#include "alloc/chunks.hpp"
#include "alloc/page_map.hpp"
#include "alloc/runtime.hpp"
#include "emu/cost_model.hpp"
#include "migrate/mover.hpp"
#include "migrate/rate_limit.hpp"
#include "migrate/relocate.hpp"

namespace tier::migrate {
namespace {

using alloc::Granule;
using alloc::GranuleKind;
using alloc::kGranule;

struct EmuState {
  tier_runtime *rt;
  EmulatedMoverOptions options;
  TokenBucket bucket;
  emu::CostModel cost;
  EmuState(tier_runtime *r, const EmulatedMoverOptions &o)
      : rt(r), options(o), bucket(o.rate), cost(emu::make_cost_model(r->topology)) {}
};

constexpr uint32_t kPagesPerGranule = kGranule / 4096;

// The page size the cost model charges per-page overhead for: huge pages when the runtime
// advises them for its chunks.
uint64_t ro_page_bytes(const tier_runtime *rt) {
  return (rt->flags & TIER_RUNTIME_NO_HUGEPAGE) ? 4096 : kGranule;
}

// Moves one granule; returns 0, or a positive errno (ENOSPC = target full).
int move_granule(EmuState &st, alloc::PageMap *pm, char *g_addr, int to_slot, MoveStats *stats,
                 bool *skipped) {
  tier_runtime *rt = st.rt;
  Granule g = pm->get(g_addr);
  *skipped = false;
  if (g.runtime != rt->generation ||
      (g.kind != GranuleKind::kLargeHead && g.kind != GranuleKind::kLargeBody))
    return EINVAL;  // not a live large allocation of this runtime: nothing Tier may relocate
  const int from_slot = g.node_slot;
  if (from_slot == to_slot) {
    *skipped = true;
    return 0;
  }
  alloc::NodeState &dst = rt->nodes[to_slot];
  alloc::NodeState &src = rt->nodes[from_slot];
  if (!dst.try_reserve(kGranule)) {
    // Freed large runs parked in the reuse cache hold room the move may take.
    if (dst.cached.load(std::memory_order_relaxed) == 0) return ENOSPC;
    alloc::evict_cache(rt, to_slot);
    if (!dst.try_reserve(kGranule)) return ENOSPC;
  }
  stats->throttled_ns += st.bucket.acquire(kGranule);
  if (st.options.relocate) {
    RelocateOptions ro;
    ro.hugepage = !(rt->flags & TIER_RUNTIME_NO_HUGEPAGE);
    Result<uint64_t> r = relocate(g_addr, kGranule, dst.node.backing_node, ro);
    ++stats->calls;
    if (!r) {
      dst.release(kGranule);
      return r.error().sys_errno ? r.error().sys_errno : EIO;
    }
  }
  g.node_slot = static_cast<uint8_t>(to_slot);
  pm->set_one(g_addr, g);
  src.release(kGranule);
  const int64_t head = g.kind == GranuleKind::kLargeHead ? 1 : 0;
  alloc::account(rt, from_slot, -int64_t(kGranule), -head);
  alloc::account(rt, to_slot, int64_t(kGranule), head);
  if (Result<double> t =
          st.cost.migration_seconds(src.node.id, dst.node.id, kGranule, ro_page_bytes(rt));
      t)
    stats->modelled_s += *t;
  return 0;
}

Status emu_move(void *state, const MoveRange *ranges, size_t count, RangeOutcome *outcomes,
                MoveStats *stats) {
  auto &st = *static_cast<EmuState *>(state);
  const uint64_t start = monotonic_ns();
  alloc::PageMap *pm = alloc::PageMap::existing();
  for (size_t r = 0; r < count; ++r) {
    const MoveRange &m = ranges[r];
    RangeOutcome &o = outcomes[r];
    o = RangeOutcome{m.chunk, Outcome::kFailed, 0, 0, 0};
    const uintptr_t first = m.addr & ~(kGranule - 1);
    const uintptr_t last = (m.addr + (m.bytes ? m.bytes : 1) + kGranule - 1) & ~(kGranule - 1);
    const uint32_t granules = static_cast<uint32_t>((last - first) / kGranule);
    const int to_slot = st.rt->slot_of(m.to);
    if (!pm || to_slot < 0 || m.bytes == 0) {
      o.error = to_slot < 0 ? ENODEV : EINVAL;
      o.pages_failed = granules * kPagesPerGranule;
      stats->pages_failed += o.pages_failed;
      continue;
    }
    uint32_t moved = 0, failed = 0, skipped_n = 0;
    bool refused = false;
    for (uintptr_t a = first; a < last; a += kGranule) {
      bool skipped = false;
      const int err = move_granule(st, pm, reinterpret_cast<char *>(a), to_slot, stats, &skipped);
      if (err == 0 && skipped) {
        ++skipped_n;
        stats->pages_skipped += kPagesPerGranule;
      } else if (err == 0) {
        ++moved;
        stats->pages_moved += kPagesPerGranule;
        stats->bytes_moved += kGranule;
        o.bytes_moved += kGranule;
      } else {
        ++failed;
        if (!o.error) o.error = err;
        stats->pages_failed += kPagesPerGranule;
        // A full target refuses the rest of the range too: a chunk is moved whole or its
        // remainder stays put, and trying granule by granule would only fail again.
        if (err == ENOSPC) {
          refused = true;
          const uint32_t rest = static_cast<uint32_t>((last - a) / kGranule) - 1;
          failed += rest;
          stats->pages_failed += uint64_t{rest} * kPagesPerGranule;
          break;
        }
      }
    }
    o.pages_failed = failed * kPagesPerGranule;
    if (refused && moved == 0) {
      o.outcome = Outcome::kRefused;
      ++stats->ranges_refused;
    } else if (failed == 0) {
      o.outcome = moved ? Outcome::kMoved : Outcome::kInPlace;
    } else {
      o.outcome = moved ? Outcome::kPartial : Outcome::kFailed;
    }
    (void)skipped_n;
  }
  stats->elapsed_ns += monotonic_ns() - start;
  return {};
}

void emu_destroy(void *state) {
  delete static_cast<EmuState *>(state);
}

const MoverOps kEmuOps = [] {
  MoverOps o;
  o.name = "emulated";
  o.move = emu_move;
  o.destroy = emu_destroy;
  return o;
}();

}  // namespace

const MoverOps &emulated_mover_ops() {
  return kEmuOps;
}

Result<Mover> Mover::emulated(tier_runtime *rt, const EmulatedMoverOptions &options) {
  if (!rt) return make_error(TIER_EINVAL, "emulated mover: no runtime");
  if (!rt->topology.emulated)
    return make_error(TIER_EINVAL, "emulated mover: the runtime's topology (" + rt->source +
                                       ") is not emulated; use the numa mover");
  if (Result<alloc::PageMap *> pm = alloc::PageMap::instance(); !pm)
    return std::move(pm).error().context("emulated mover");
  return adopt(&kEmuOps, new EmuState(rt, options));
}

}  // namespace tier::migrate
