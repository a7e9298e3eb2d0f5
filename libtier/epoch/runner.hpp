// runner.hpp - the one placement epoch that the in-process agent, tierd and tier-replay run.
//
// An epoch is: a chunk source folds the epoch's accesses into heat (heat_rule.hpp) and shows
// its units to the policy; the policy plans the snapshot; a move filter drops what the
// deployment forbids (tierd's fast-tier quotas); a move sink carries the moves out (a mover,
// tierd's request batch to a client, or the replay's bookkeeping) and records where each unit
// now is. The policy's memory (Plan::policy_state and the per-unit tags) is carried by the
// runner and the source the same way everywhere, so `arc` or `heat` behave alike in all three
// engines, and one report type describes an epoch.
//
// The three adapters:
//   the agent      TableSource + TableMoverSink (table_source.hpp), over the chunk table;
//   tierd          daemon/epoch_adapters.hpp, over the clients' validated shared tables;
//   tier-replay    bench/replay/engine_replay.cpp, over a trace's objects.
// tests/unit/test_epoch_adapters.cpp feeds one access sequence through all three and checks
// that they make identical plans.
//
// Thread-safety: a Runner is used by one thread at a time (its owner serialises epochs).
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "heat/rule.hpp"
#include "migrate/mover.hpp"
#include "policy/policy.hpp"
#include "policy/snapshot.hpp"

namespace tier::epoch {

struct Report {
  uint64_t epoch = 0;
  uint64_t chunks = 0;         // units the source read
  uint64_t active_chunks = 0;  // of those, accessed this epoch
  uint64_t rows = 0;           // units shown to the policy
  uint64_t accesses = 0;       // reads + writes this epoch, over the units the source read
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t moves_planned = 0;
  uint64_t moves_filtered = 0;  // dropped by the move filter (tierd: fast-tier quotas)
  uint64_t moves_issued = 0;    // handed to the sink
  uint64_t moves_done = 0;      // carried out (or, for a request batch, handed to the client)
  uint64_t moves_refused = 0;   // the target had no room (emulated capacity)
  uint64_t promotions = 0;      // of moves_done: to a faster tier
  uint64_t demotions = 0;       // to a slower (or the same) tier
  uint64_t bytes_issued = 0;
  uint64_t plan_ns = 0;
  uint64_t epoch_ns = 0;
  migrate::MoveStats mover;                     // what the sink's movers did
  std::vector<migrate::RangeOutcome> outcomes;  // per issued move, in order (mover sinks)
};

// Where the units come from. Ids written into the snapshot are the source's own (slot ids,
// positions, object ids); the sink resolves them.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // Folds this epoch's accesses into each unit's heat with `clock` (clock.begin() was called),
  // appends the units the policy may reason about to snap->chunks (with the tags kept for
  // them) and accounts them in snap->nodes' `used`. Fills report's chunk and access counts.
  virtual Status collect(heat::HeatClock &clock, policy::Snapshot *snap, Report *report) = 0;
  // The policy's per-unit memory for the next epoch (Plan::tags).
  virtual void keep_tags(const std::vector<policy::Plan::Tag> &tags) = 0;
};

class MoveFilter {
 public:
  virtual ~MoveFilter() = default;
  // Removes the moves the deployment does not allow, keeping the plan's order; a dropped move
  // takes the rest of its group with it.
  virtual void filter(const policy::Snapshot &snap, std::vector<policy::Move> *moves) = 0;
};

class MoveSink {
 public:
  virtual ~MoveSink() = default;
  // Carries `moves` out in order, records each landed move in the source (new node, epoch of
  // the move) and sets (*landed)[i] (sized like moves on entry, all false). Fills report's
  // mover figures and outcomes. An error means nothing could be attempted.
  virtual Status apply(const policy::Snapshot &snap, const std::vector<policy::Move> &moves,
                       std::vector<bool> *landed, Report *report) = 0;
};

struct RunnerConfig {
  // The heat clock: half-life 4 epochs, fixed (tier-replay's runs set adaptive: true).
  heat::TemperatureConfig temperature{4.0, false};
  uint64_t budget_bytes = UINT64_MAX;  // per-epoch migration budget (0 = none)
  policy::MoveCosts move;              // the price of a move (move_cost.hpp)
  // Validate every snapshot before planning (sources that build theirs valid by construction
  // may skip it), and with `check_plans` also check every plan against its contract.
  bool validate = true;
  bool check_plans = false;
};
Status validate(const RunnerConfig &config);

class Runner {
 public:
  Runner(const RunnerConfig &config, policy::Policy policy);

  // One epoch (> the previous one) over `nodes` (capacity, used by memory the source does not
  // see, watermarks, figures). `filter` may be null.
  Result<Report> run(uint64_t epoch, const std::vector<policy::NodeState> &nodes,
                     ChunkSource &source, MoveFilter *filter, MoveSink &sink);

  // A new policy starts with a fresh memory (policy_state 0; sources keep tags, which a
  // policy must tolerate from another).
  void set_policy(policy::Policy policy);
  const policy::Policy &policy() const { return policy_; }
  const RunnerConfig &config() const { return config_; }
  void set_budget(uint64_t budget_bytes) { config_.budget_bytes = budget_bytes; }
  const heat::HeatClock &clock() const { return clock_; }
  // The last epoch's snapshot and plan, before the filter (for tests and diagnostics).
  const policy::Snapshot &last_snapshot() const { return snap_; }
  const policy::Plan &last_plan() const { return plan_; }

 private:
  RunnerConfig config_;
  policy::Policy policy_;
  heat::HeatClock clock_;
  double policy_state_ = 0;
  policy::Snapshot snap_;  // reused between epochs: its memory is not faulted in afresh
  policy::Plan plan_;
  std::vector<bool> landed_;
};

// Watermarks as fractions of capacity (free bytes), as the kernel's are in pages.
void apply_watermarks(std::vector<policy::NodeState> *nodes, double low, double high);

}  // namespace tier::epoch
