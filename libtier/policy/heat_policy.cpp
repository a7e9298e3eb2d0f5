// heat_policy.cpp - the default policy, `heat`: cost-aware placement by decayed heat.
//
// Units are ranked by their mean chunk temperature (decayed accesses per chunk). With the
// decay's half-life h, a unit read at a steady rate has a temperature equal to the accesses
// it receives in the next h / ln 2 epochs, so the temperature is the policy's forecast of the
// accesses a move would make cheaper. Three rules follow (move_cost.hpp has the arithmetic):
//  - a unit moves up from tier f to tier t only when that forecast reaches the break-even of
//    the round trip f -> t -> f, priced from the nodes' bandwidths and the snapshot's move
//    costs (on the `default` preset: ~6 accesses per chunk from the CXL pool to HBM, ~80 from
//    DRAM to HBM);
//  - a promotion evicts a victim only when it is hotter by the break-even of the exchange;
//  - headroom (wm_high free in every non-last tier, demoting at wm_low) is kept only while it
//    pays: while the data written into fast tiers is read again often enough (the median
//    reuse of never-moved chunks there) to repay the demotion that frees its room.
// Where any node's bandwidth is unknown, moves are not priced and only the next rule applies.
// A log2 histogram of the keys, weighted by bytes, gives each non-last tier a hot threshold:
// the key from which the hottest movable bytes fill that tier and all faster ones, each node
// counted at its capacity minus its headroom, minus what is pinned or not tracked there (as
// MEMTIS sizes its hot set to the fast tier). A unit wants the fastest tier whose threshold
// (and break-even) it reaches; it cascades to the next one down when that tier will not take it.
//
// Against ping-pong: a unit moved within `cooldown_epochs` is neither promoted nor evicted,
// and a promotion may evict only units whose key is below the candidate's by `promote_margin`
// (and by the break-even). The planner enforces the byte budget, capacities, pinning,
// whole-object moves, and demotions before promotions.
//
// Thread-safety: a pure function of its arguments.
#include <algorithm>
#include <array>
#include <cmath>

#include "heat/temperature.hpp"
#include "policy/move_cost.hpp"
#include "policy/planner.hpp"
#include "policy/policy.hpp"

namespace tier::policy {

namespace {

// Reuse of never-moved units, by node: a count per reuse (accesses after the first), the last
// bucket holding kReuseCap and more. Filled in the pass that builds the units.
constexpr uint32_t kReuseCap = 63;
using ReuseCounts = std::vector<std::array<uint64_t, kReuseCap + 1>>;

// Whether keeping free room in the fast tiers repays the demotions that make it. The data that
// room receives is new data, so the estimate is what new data has received so far: the median
// accesses, after its first, of the units on non-last tiers that were never moved (they were
// placed there when written; a unit counts its first chunk). Headroom pays when that reuse
// repays a one-way demotion from the fastest tier to the next (the room's next occupant saves
// each of its reads). No such units yet (a cold start): no evidence for demoting, so none.
bool headroom_pays(const Snapshot &s, const Planner &p, const ReuseCounts &reuse) {
  if (p.tier_count() < 2) return false;
  std::array<uint64_t, kReuseCap + 1> sum{};
  uint64_t units = 0;
  for (int n = 0; n < p.node_count(); ++n)
    if (p.tier_of_node(n) < p.tier_count() - 1)
      for (uint32_t r = 0; r <= kReuseCap; ++r) {
        sum[r] += reuse[n][r];
        units += reuse[n][r];
      }
  if (units == 0) return false;
  // The median: a few long-lived hot units (a system prompt) say nothing of new data.
  uint32_t median = 0;
  for (uint64_t seen = sum[0]; seen * 2 <= units && median < kReuseCap; seen += sum[++median]) {
  }
  const NodeState &top = p.node(p.nodes_of_tier(0).front());
  const NodeState &next = p.node(p.nodes_of_tier(1).front());
  const uint64_t page = std::max<uint64_t>(s.move.page_bytes, 4096);
  const double demote = move_seconds(top.bandwidth_mbps, write_mbps(next), page, page, s.move) /
                        static_cast<double>(page);
  const double saving = access_saving_per_byte(next, top);
  return saving > 0 && static_cast<double>(median) * saving > demote;
}

void plan_heat(const Snapshot &s, const PolicyParams &params, Plan *out) {
  // Capacity each non-last tier offers to movable tracked data: computed in the pass that
  // builds the units (the node indexes are the planner's, known before any unit is built).
  std::vector<int64_t> tracked(s.nodes.size(), 0), fixed(s.nodes.size(), 0);
  heat::LogHistogram hist;
  ReuseCounts reuse(s.nodes.size());
  for (auto &r : reuse) r.fill(0);
  Planner p(s, [&](uint32_t, const Unit &u, float &key) {
    key = u.count ? u.heat / static_cast<float>(u.count) : 0.0f;
    if (u.last_move_epoch == 0) {
      const uint64_t total = s.chunks[u.first].total_accesses;
      if (total > 0) ++reuse[u.node][std::min<uint64_t>(total - 1, kReuseCap)];
    }
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

  // Priced moves: with every node's bandwidth known, a unit moves up only when the accesses
  // it is expected to receive there repay the round trip (break_even_accesses()), and evicts
  // only a victim colder by what the exchange costs. Without figures, only the thresholds.
  std::vector<double> break_even(static_cast<size_t>(tiers) * tiers, INFINITY);
  std::vector<double> evict_margin(tiers, 0);
  const bool priced = std::all_of(s.nodes.begin(), s.nodes.end(),
                                  [](const NodeState &n) { return n.bandwidth_mbps > 0; });
  if (priced) {
    auto first = [&](int t) -> const NodeState & { return p.node(p.nodes_of_tier(t).front()); };
    for (int f = 0; f < tiers; ++f)
      for (int t = 0; t < f; ++t)
        break_even[f * tiers + t] = break_even_accesses(first(f), first(t), s.move);
    for (int t = 0; t + 1 < tiers; ++t)
      evict_margin[t] = break_even_accesses(first(t + 1), first(t), s.move);
  }

  // A unit wants the fastest tier whose threshold its key reaches: exchange() works that out
  // in its pass over the units (no heat: never worth a move up).
  ExchangeRules rules;
  rules.want_threshold = threshold.data();
  if (priced) {
    rules.move_threshold = break_even.data();
    rules.evict_margin = evict_margin.data();
  }
  rules.margin = params.promote_margin;
  rules.cooldown = params.cooldown_epochs;
  rules.evict = true;
  rules.pressure_below = Mark::kLow;
  rules.pressure_restore = Mark::kHigh;
  rules.keep = Mark::kHigh;
  if (priced && !headroom_pays(s, p, reuse)) {
    // Headroom is room for new data: a demotion buys it, and only data written there later
    // and read again repays that demotion. Where it does not, keep none (and demote nothing
    // to make it): data stays where it is until a hotter unit repays an exchange.
    rules.pressure_below = Mark::kZero;
    rules.pressure_restore = Mark::kZero;
    rules.keep = Mark::kZero;
  }
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
