// heat_policy.cpp - the default policy, `heat`.
//
// Units are ranked by heat density (decayed temperature per MiB). A log2 histogram of the
// densities, weighted by bytes, gives each non-last tier a hot threshold: the density from
// which the hottest movable bytes fill that tier and all faster ones, each node counted at
// its capacity minus its headroom (wm_high), minus what is pinned or not tracked there (as
// MEMTIS sizes its hot set to the fast tier). A unit wants the fastest tier whose threshold
// it reaches; it cascades to the next one down when that tier will not take it.
//
// Against ping-pong: a unit moved within `cooldown_epochs` is neither promoted nor evicted,
// and a promotion may evict only units whose density is below the candidate's by
// `promote_margin`; units above a threshold that found no room simply stay where they are.
// Demotion is lazy: fast tiers are relieved only when a node's free bytes fall below wm_low
// (then down to wm_high), or to make room for a hotter unit. The planner enforces the byte
// budget, capacities, pinning, whole-object moves, and demotions before promotions.
//
// Thread-safety: a pure function of its arguments.
#include <cmath>

#include "heat/temperature.hpp"
#include "policy/planner.hpp"
#include "policy/policy.hpp"

namespace tier::policy {

namespace {

void plan_heat(const Snapshot &s, const PolicyParams &params, Plan *out) {
  // Capacity each non-last tier offers to movable tracked data: computed in the pass that
  // builds the units (the node indexes are the planner's, known before any unit is built).
  std::vector<int64_t> tracked(s.nodes.size(), 0), fixed(s.nodes.size(), 0);
  heat::LogHistogram hist;
  Planner p(s, [&](uint32_t, const Unit &u, float &key) {
    key = static_cast<float>(u.density());
    // A split unit (a move carried out only in part) is counted on its first chunk's node;
    // the threshold is an estimate either way, and the planner's accounting is exact.
    tracked[u.node] += static_cast<int64_t>(u.bytes);
    if (u.pinned)
      fixed[u.node] += static_cast<int64_t>(u.bytes);
    else
      hist.add(key, u.bytes);
  });
  const int tiers = p.tier_count();
  std::vector<double> threshold(tiers, INFINITY);
  int64_t cumulative = 0;
  for (int t = 0; t < tiers - 1; ++t) {
    for (int n : p.nodes_of_tier(t)) {
      const NodeState &node = p.node(n);
      const int64_t untracked = std::max<int64_t>(static_cast<int64_t>(node.used) - tracked[n], 0);
      cumulative += std::max<int64_t>(static_cast<int64_t>(node.capacity) -
                                          static_cast<int64_t>(node.wm_high) - untracked - fixed[n],
                                      0);
    }
    if (cumulative > 0) threshold[t] = hist.hot_threshold(static_cast<uint64_t>(cumulative));
  }

  // A unit wants the fastest tier whose threshold its key reaches: exchange() works that out
  // in its pass over the units (no heat: never worth a move up).
  ExchangeRules rules;
  rules.want_threshold = threshold.data();
  rules.margin = params.promote_margin;
  rules.cooldown = params.cooldown_epochs;
  rules.evict = true;
  rules.pressure_below = Mark::kLow;
  rules.pressure_restore = Mark::kHigh;
  rules.keep = Mark::kHigh;
  exchange(p, rules);
  *out = p.finish();
}

}  // namespace

extern const PolicyOps kHeatPolicy;
const PolicyOps kHeatPolicy = {
    kPolicyOpsVersion, "heat",
    "decayed heat per byte, hot thresholds sized to each tier, cascade, headroom, hysteresis",
    plan_heat};

}  // namespace tier::policy
