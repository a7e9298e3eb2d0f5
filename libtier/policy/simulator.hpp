// simulator.hpp - a deterministic harness that advances epochs over a snapshot: feed it the
// accesses of an epoch, let a policy plan, check the plan against the contract, apply it.
//
// It stands in for the chunk table, its source and a mover together, with the engine's heat
// rule (heat/rule.hpp), so unit tests exercise the policies as the agent runs them. It also keeps
// the figures the replay reports: the fraction of accesses served by the fastest tier, bytes and
// moves.
//
// Thread-safety: a Simulator is used by one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "heat/rule.hpp"
#include "policy/policy.hpp"
#include "policy/snapshot.hpp"

namespace tier::policy {

// Verifies a plan against its contract for `snapshot`: known chunks, each at most once, moved
// from where it is to another known node, never pinned, bytes equal to the chunk's, total
// within the budget, no node over capacity after any prefix of the moves, and groups whole
// (every chunk of a moved group ends on one node). TIER_EINVAL naming the first violation.
Status check_plan(const Snapshot &snapshot, const Plan &plan);

struct SimStats {
  uint64_t epochs = 0;
  uint64_t accesses = 0;
  uint64_t fast_hits = 0;  // accesses to chunks on the fastest tier when they happened
  uint64_t moves = 0;
  uint64_t bytes_moved = 0;
  uint64_t promoted = 0;
  uint64_t demoted = 0;
  double hit_ratio() const {
    return accesses ? static_cast<double>(fast_hits) / static_cast<double>(accesses) : 0;
  }
};

class Simulator {
 public:
  // `initial` holds nodes and chunks (their starting nodes; `used` must include them) and the
  // budget; its epoch is the last completed one (normally 0).
  explicit Simulator(Snapshot initial, const heat::TemperatureConfig &config = {});

  const Snapshot &snapshot() const { return s_; }
  // For tests that change capacities, pins or budgets between epochs.
  Snapshot &mutable_snapshot() { return s_; }
  const SimStats &stats() const { return stats_; }

  // Begins the next epoch: accesses[i] accesses to chunks[i] (sizes must match, else
  // TIER_EINVAL). Updates temperature, history, recency and totals as the tracker does, and
  // counts fast-tier hits at the chunks' current placement.
  Status observe(const std::vector<uint32_t> &accesses);
  // Plans the current epoch with `policy`, checks the plan, applies it, and returns it.
  Result<Plan> step(const Policy &policy);
  // Checks and applies a plan: chunks change node, `used` follows, last_move_epoch = epoch.
  Status apply(const Plan &plan);

  // Node id of the fastest tier's nodes (tier rank == lowest rank present).
  bool on_fastest(const ChunkInfo &chunk) const;

 private:
  Snapshot s_;
  heat::HeatClock clock_;
  int32_t fastest_tier_;
  SimStats stats_;
};

}  // namespace tier::policy
