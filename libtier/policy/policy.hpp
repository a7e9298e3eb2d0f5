// policy.hpp - placement policies: the versioned ops table, the registry, and make_policy().
//
// A policy is a pure function from a Snapshot to a Plan: no state survives between calls, the
// same snapshot and parameters always give the same plan, and nothing is read from the clock,
// the environment or the machine. What a policy needs to remember (recency, repeated hotness,
// the last move of a chunk) is carried in the snapshot by the heat layer. That is what lets
// tierd, the in-process agent, the simulator and the trace replay run the very same code.
//
// Built-in policies (docs/policy.md has their rules):
//   first-touch  never moves anything (where the allocator put it stays)
//   lru          promotes what was accessed this epoch, evicting the least recently used
//   lfu          promotes what was accessed this epoch, evicting the least frequently used
//   tpp          promotes what was hot two epochs running if there is free room; demotes the
//                least recently used when a node's free bytes fall below its high watermark
//   arc          adaptive replacement cache (T1/T2 and ghost lists, adaptive target) for the
//                fastest tier; its memory travels in ChunkInfo::policy_tag/Snapshot::policy_state
//   heat         (default) decayed temperature per byte; a MEMTIS-style hot threshold per
//                tier; multi-tier cascade; headroom; whole-object moves; hysteresis (margin
//                and cooldown); the byte budget
//
// Writing a policy: fill a PolicyOps with version = kPolicyOpsVersion first, a unique name,
// and plan(); register it with register_policy(). plan() receives a validated snapshot and
// must respect the Plan contract in snapshot.hpp (budget, capacity, pinned, whole groups,
// demotions before the promotions they make room for). policy/planner.hpp has the machinery
// the built-ins share. tests/unit/test_policy_conformance.cpp checks every registered policy.
//
// Thread-safety: the registry is safe from any thread; Policy values are immutable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "policy/snapshot.hpp"

namespace tier::policy {

// Bumped whenever an entry is added, removed or changes meaning.
inline constexpr uint32_t kPolicyOpsVersion = 1;

// Tuning knobs; each policy uses those that apply to it.
struct PolicyParams {
  uint32_t cooldown_epochs = 8;  // heat: a unit moved within this many epochs stays put
  double promote_margin = 0.25;  // heat: to evict, a unit must be this much hotter (fraction)
  uint32_t tpp_hot_epochs = 2;   // tpp: consecutive accessed epochs before a promotion (1..32)
};

Status validate(const PolicyParams &params);

struct PolicyOps {
  uint32_t version = kPolicyOpsVersion;  // first, always
  const char *name = nullptr;
  const char *description = nullptr;
  // Appends the plan for `snapshot` to `out` (which is empty on entry).
  void (*plan)(const Snapshot &snapshot, const PolicyParams &params, Plan *out) = nullptr;
};

// Checks a snapshot before a policy sees it: epoch > 0, nodes with unique ids in 0..65535,
// every chunk on a known node with bytes > 0, unique chunk ids, and the chunks of each group
// adjacent and of one owner. TIER_EINVAL naming the first offence.
Status validate_snapshot(const Snapshot &snapshot);

// The registry. Built-ins are always present; register_policy() adds more (TIER_EINVAL for a
// wrong version or missing name/plan, TIER_EBUSY for a duplicate name).
Status register_policy(const PolicyOps *ops);
const PolicyOps *find_policy(const std::string &name);
std::vector<std::string> policy_names();  // registration order, built-ins first

inline constexpr const char *kDefaultPolicy = "heat";

class Policy {
 public:
  const char *name() const { return ops_->name; }
  const PolicyParams &params() const { return params_; }
  // Validates the snapshot, then plans.
  Result<Plan> plan(const Snapshot &snapshot) const;
  // Plans a snapshot already known to be valid (the agent's own, or in benchmarks).
  Plan plan_unchecked(const Snapshot &snapshot) const;

 private:
  friend Result<Policy> make_policy(const std::string &, const PolicyParams &);
  Policy(const PolicyOps *ops, const PolicyParams &params) : ops_(ops), params_(params) {}
  const PolicyOps *ops_;
  PolicyParams params_;
};

// A policy by name ("heat", "lru", ...); TIER_EINVAL listing the known names otherwise.
Result<Policy> make_policy(const std::string &name, const PolicyParams &params = {});

}  // namespace tier::policy
