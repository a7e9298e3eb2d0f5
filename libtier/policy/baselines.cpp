// baselines.cpp - the baseline policies the default is measured against: first-touch, lru,
// lfu and tpp. They run on the same planner as `heat`, so differences in results come from
// their rules, not from their plumbing.
//
// Thread-safety: pure functions of their arguments.
#include "policy/planner.hpp"
#include "policy/policy.hpp"

namespace tier::policy {

namespace {

// first-touch: data stays where the allocator first put it (the kernel's default, and
// memkind/libmemtier's behaviour). An empty plan, also under pressure: this is the baseline
// of doing nothing.
void plan_first_touch(const Snapshot &, const PolicyParams &, Plan *) {}

// A cache in front of slower tiers: what was accessed this epoch goes to the fastest tier,
// evicting the unit with the lowest key there, which falls one tier down. No headroom, no
// hysteresis; nodes are only relieved when they are over capacity.
void plan_cache(const Snapshot &s, Plan *out, bool frequency) {
  Planner p(s);
  const auto &units = p.units();
  auto &key = p.keys();
  auto &want = p.wants();
  for (size_t i = 0; i < units.size(); ++i) {
    const UnitStats u = p.stats(units[i]);
    key[i] = static_cast<float>(frequency ? u.total_accesses : u.last_access_epoch);
    if (u.accesses > 0) want[i] = 0;
  }
  exchange(p, ExchangeRules{});
  *out = p.finish();
}

void plan_lru(const Snapshot &s, const PolicyParams &, Plan *out) {
  plan_cache(s, out, false);
}
void plan_lfu(const Snapshot &s, const PolicyParams &, Plan *out) {
  plan_cache(s, out, true);
}

// tpp: Linux's memory tiering mode with TPP (NUMA balancing mode 2). A page is promoted when
// its hint faults show it accessed in `tpp_hot_epochs` consecutive scans, and only into free
// room above the low watermark (promotion never evicts). Demotion is kswapd's job: when a
// node's free bytes fall below the high ("demotion") watermark it demotes the least recently
// used until the watermark is free again, which keeps room for the next promotions.
void plan_tpp(const Snapshot &s, const PolicyParams &params, Plan *out) {
  Planner p(s);
  const auto &units = p.units();
  const uint32_t mask = params.tpp_hot_epochs >= 32 ? ~0u : (1u << params.tpp_hot_epochs) - 1;
  auto &key = p.keys();
  auto &want = p.wants();
  for (size_t i = 0; i < units.size(); ++i) {
    const UnitStats u = p.stats(units[i]);
    key[i] = static_cast<float>(u.last_access_epoch);
    if ((u.history & mask) == mask) want[i] = 0;
  }
  ExchangeRules rules;
  rules.evict = false;
  rules.pressure_below = Mark::kHigh;
  rules.pressure_restore = Mark::kHigh;
  rules.keep = Mark::kLow;
  exchange(p, rules);
  *out = p.finish();
}

}  // namespace

extern const PolicyOps kFirstTouchPolicy;
extern const PolicyOps kLruPolicy;
extern const PolicyOps kLfuPolicy;
extern const PolicyOps kTppPolicy;

const PolicyOps kFirstTouchPolicy = {kPolicyOpsVersion, "first-touch",
                                     "never moves: data stays where it was first placed",
                                     plan_first_touch};
const PolicyOps kLruPolicy = {kPolicyOpsVersion, "lru",
                              "promote on access, evict the least recently used", plan_lru};
const PolicyOps kLfuPolicy = {kPolicyOpsVersion, "lfu",
                              "promote on access, evict the least frequently used", plan_lfu};
const PolicyOps kTppPolicy = {
    kPolicyOpsVersion, "tpp",
    "Linux tiering (TPP): promote on repeated access into free room, demote LRU by watermark",
    plan_tpp};

}  // namespace tier::policy
