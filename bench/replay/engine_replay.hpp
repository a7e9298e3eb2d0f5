// engine_replay.hpp - replaying a workload through the placement engine that tierd runs.
//
// The epoch is the engine's own (libtier/epoch/runner.hpp), the one the in-process agent and
// tierd run: the replay is its adapter, the trace's objects its chunk source and its bookkeeping
// the move sink. Two nodes: the fast tier (node 0, tier 0, `capacity_objects` objects) and a
// capacity tier (node 1, tier 1, room for everything). Every epoch:
//   1. the epoch's references are served where each object is now: from node 0 it is a fast-tier
//      hit, otherwise a miss. An object's first reference creates it, on node 0 if node 0 has
//      room and on node 1 otherwise, the same for every policy (an allocator's first touch);
//   2. the engine's heat rule (heat/rule.hpp) folds the epoch's references into each
//      object it shows: decayed temperature (with the adaptive half-life when configured),
//      history bits, totals, last access, reuse samples;
//   3. a Snapshot is built — the fast tier's residents, the objects referenced this epoch, and
//      the objects the policy tagged (ARC's ghosts) — and the policy plans it;
//   4. the plan is applied: moves change nodes and count as migrated bytes, tags and the
//      policy's state are carried into the next epoch.
// So an object becomes fast-tier resident only through the engine's plan (or by creation into
// free room). Objects neither resident, referenced this epoch, nor tagged are left out of the
// snapshot: their rows could not make any built-in policy move them (no policy promotes an
// object it has no heat for this epoch, nor evicts from a tier they are not in), and leaving
// them out keeps an epoch O(fast-tier size) instead of O(all objects ever seen) — the
// "emit only what changed" tracker that docs/policy.md plans for. Their heat is kept exactly,
// decayed lazily when they are next seen.
//
// Thread-safety: a replay runs on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.hpp"
#include "heat/temperature.hpp"
#include "policy/policy.hpp"
#include "workload.hpp"

namespace tier::replay {

struct ReplayConfig {
  uint64_t capacity_objects = 0;
  heat::TemperatureConfig temperature{4.0, true};  // adaptive half-life (heat/reuse.hpp)
  double wm_low = 0.005;  // fast tier's free-byte watermarks, fractions of its capacity
  double wm_high = 0.01;
  uint64_t budget_bytes = UINT64_MAX;  // per-epoch migration budget
  bool check = false;  // validate every snapshot and check every plan (slow; for tests)
  // The two nodes' figures and the cost of a move, as the policy sees them in its snapshot
  // (TimeModel::describe_nodes() fills them from the model that charges the replay).
  policy::NodeState fast_figures, slow_figures;
  policy::MoveCosts move;
  // Called with every epoch's plan (for tests that compare engines, and for diagnostics).
  std::function<void(uint64_t epoch, const policy::Plan &plan)> on_plan;
};

struct ReplayResult {
  std::string policy;
  uint64_t capacity_objects = 0;
  uint64_t refs = 0;
  uint64_t hits = 0;
  uint64_t epochs = 0;
  uint64_t moves = 0;
  uint64_t bytes_migrated = 0;
  uint64_t promoted_bytes = 0;
  uint64_t demoted_bytes = 0;
  uint64_t fast_read_bytes = 0, slow_read_bytes = 0;    // references, by where they were served
  uint64_t fast_write_bytes = 0, slow_write_bytes = 0;  // creation of new objects
  double final_half_life = 0;                           // epochs, at the end of the run
  double hit_ratio() const {
    return refs ? static_cast<double>(hits) / static_cast<double>(refs) : 0;
  }
};

Result<ReplayResult> replay(const Workload &w, const policy::Policy &policy,
                            const ReplayConfig &config);

}  // namespace tier::replay
