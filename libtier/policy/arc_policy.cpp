// arc_policy.cpp - `arc`: the Adaptive Replacement Cache (Megiddo and Modha, FAST'03) as a
// placement policy for the fastest tier.
//
// ARC keeps the fast tier as two LRU lists, T1 (seen once recently) and T2 (seen at least twice),
// and two ghost lists of what was recently evicted from each, B1 and B2. A hit in B1 says T1 was
// too small, one in B2 that T2 was, and the target size p of T1 adapts accordingly. That memory
// does not fit the heat layer's counters, so ARC keeps it in the snapshot: each chunk's list in
// ChunkInfo::policy_tag and p in Snapshot::policy_state, both handed back through the Plan for
// the caller to carry into the next epoch (the Simulator and the trace replay do).
//
// The engine sees an epoch's accesses as a batch: the accessed units are processed in snapshot
// order, and a unit accessed this epoch counts as most recently used. LRU order within a list
// is the last access epoch (ties: chunk id); within a ghost list the epoch of the eviction
// (last_move_epoch). Sizes are bytes, so objects of different sizes are weighed fairly. Only
// tier 0 is managed; evicted units fall to the nearest slower tier with room.
//
// Thread-safety: a pure function of its arguments.
#include <algorithm>
#include <queue>
#include <tuple>

#include "policy/planner.hpp"
#include "policy/policy.hpp"

namespace tier::policy {

namespace {

// The values of ChunkInfo::policy_tag that ARC uses.
enum List : uint8_t { kNone = 0, kT1 = 1, kT2 = 2, kB1 = 3, kB2 = 4 };

struct Entry {
  uint64_t order;  // LRU position: smaller = older
  uint64_t id;     // tie-break
  uint32_t unit;
  uint32_t stamp;  // valid while it equals the unit's stamp
  bool operator>(const Entry &o) const { return std::tie(order, id) > std::tie(o.order, o.id); }
};
using MinHeap = std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>>;

class Arc {
 public:
  Arc(Planner &p, double target) : p_(p), target_(target) {
    const auto &units = p.units();
    list_.assign(units.size(), kNone);
    stamp_.assign(units.size(), 0);
    for (int n : p.nodes_of_tier(0)) capacity_ += p.node(n).capacity;
    for (uint32_t i = 0; i < units.size(); ++i) {
      const Unit &u = units[i];
      const uint8_t tag = p.snapshot().chunks[u.first].policy_tag;
      List l = kNone;
      if (p.tier_of(u) == 0)
        l = tag == kT2 ? kT2 : kT1;  // resident; untagged residents count as seen once
      else if (tag == kB1 || tag == kB2)
        l = static_cast<List>(tag);
      set(i, l);
    }
  }

  void run() {
    // A fast node over its capacity (it was cut, or something else grew) is relieved first, by
    // ARC's own eviction order.
    for (int n : p_.nodes_of_tier(0))
      while (p_.free(n) < 0)
        if (!replace(false, Reason::kPressure, n)) break;
    const auto &units = p_.units();
    for (uint32_t i = 0; i < units.size(); ++i) {
      if (p_.stats(units[i]).accesses == 0) continue;
      if (!access(i)) break;  // budget spent
    }
  }

  double target() const { return target_; }
  List list(uint32_t u) const { return list_[u]; }

 private:
  uint64_t bytes(uint32_t u) const { return p_.units()[u].bytes; }
  uint64_t order(uint32_t u, List l) const {
    const Unit &unit = p_.units()[u];
    if (l == kB1 || l == kB2) return unit.last_move_epoch;
    return p_.stats(unit).last_access_epoch;
  }

  void set(uint32_t u, List l) {
    size_[list_[u]] -= bytes(u);
    list_[u] = l;
    size_[l] += bytes(u);
    ++stamp_[u];
    if (l != kNone) heap_[l].push(Entry{order(u, l), p_.id(p_.units()[u]), u, stamp_[u]});
  }

  // The least recently used unit of list l that may leave it (on node `only`, if >= 0), or -1.
  int64_t lru(List l, int only = -1) {
    MinHeap &h = heap_[l];
    std::vector<Entry> elsewhere;  // entries of other nodes, put back afterwards
    int64_t found = -1;
    while (!h.empty()) {
      const Entry e = h.top();
      if (list_[e.unit] == l && stamp_[e.unit] == e.stamp) {
        const Unit &u = p_.units()[e.unit];
        if (only >= 0 && u.node != only) {
          elsewhere.push_back(e);
          h.pop();
          continue;
        }
        // Pinned units and what moved this epoch stay where they are; drop them from view.
        if ((l == kT1 || l == kT2) && (u.pinned || p_.moved(e.unit))) {
          h.pop();
          continue;
        }
        found = e.unit;
        break;
      }
      h.pop();
    }
    for (const Entry &e : elsewhere) h.push(e);
    return found;
  }

  // Evicts the LRU unit of T1 or T2 (ARC's REPLACE) to the nearest slower tier with room;
  // with `only` >= 0, from that node only.
  bool replace(bool in_b2, Reason reason = Reason::kDemote, int only = -1) {
    const int64_t t1 = lru(kT1, only), t2 = lru(kT2, only);
    List from;
    if (t1 >= 0 && (static_cast<double>(size_[kT1]) > target_ ||
                    (in_b2 && static_cast<double>(size_[kT1]) == target_) || t2 < 0))
      from = kT1;
    else if (t2 >= 0)
      from = kT2;
    else
      return false;
    const auto u = static_cast<uint32_t>(from == kT1 ? t1 : t2);
    for (int t = 1; t < p_.tier_count(); ++t) {
      const int n = p_.node_with_room(t, p_.units()[u], Mark::kZero);
      if (n >= 0 && p_.move(u, n, reason, Mark::kZero)) {
        set(u, from == kT1 ? kB1 : kB2);
        return true;
      }
    }
    return false;
  }

  // Drops the oldest ghost of list l from ARC's memory.
  void forget(List l) {
    if (const int64_t g = lru(l); g >= 0) set(static_cast<uint32_t>(g), kNone);
  }

  // One reference to unit u; false when the budget stops the plan.
  bool access(uint32_t u) {
    const List l = list_[u];
    if (l == kT1 || l == kT2) {
      // A hit moves to the MRU end of T2. A resident ARC has never seen (written into the fast
      // tier when it was created) is on its first reference: T1.
      set(u, p_.snapshot().chunks[p_.units()[u].first].policy_tag == kNone ? kT1 : kT2);
      return true;
    }
    const double b = static_cast<double>(bytes(u));
    const auto size = [&](List x) { return static_cast<double>(size_[x]); };
    if (l == kB1) {
      target_ = std::min<double>(static_cast<double>(capacity_),
                                 target_ + b * std::max(1.0, size(kB2) / std::max(size(kB1), b)));
    } else if (l == kB2) {
      target_ = std::max(0.0, target_ - b * std::max(1.0, size(kB1) / std::max(size(kB2), b)));
    } else {
      // New to ARC: keep L1 = T1 + B1 within c and everything within 2c.
      const double c = static_cast<double>(capacity_);
      if (size(kT1) + size(kB1) >= c) {
        if (size(kT1) < c) forget(kB1);
      } else if (size(kT1) + size(kT2) + size(kB1) + size(kB2) >= 2 * c) {
        forget(kB2);
      }
    }
    const Unit &unit = p_.units()[u];
    if (unit.pinned) return true;
    int n;
    while ((n = p_.node_with_room(0, unit, Mark::kZero)) < 0)
      if (!replace(l == kB2)) break;
    if (n < 0) return p_.budget_left() > 0;
    if (!p_.move(u, n, Reason::kPromote, Mark::kZero)) return false;
    set(u, l == kNone ? kT1 : kT2);
    return true;
  }

  Planner &p_;
  double target_;
  uint64_t capacity_ = 0;
  std::vector<List> list_;
  std::vector<uint32_t> stamp_;
  uint64_t size_[5] = {0, 0, 0, 0, 0};
  MinHeap heap_[5];
};

void plan_arc(const Snapshot &s, const PolicyParams &, Plan *out) {
  Planner p(s);
  Arc arc(p, s.policy_state);
  arc.run();
  *out = p.finish();
  out->policy_state = arc.target();
  const auto &units = p.units();
  for (uint32_t i = 0; i < units.size(); ++i) {
    const Unit &u = units[i];
    const uint8_t now = arc.list(i);
    for (uint32_t k = u.first; k < u.first + u.count; ++k)
      if (s.chunks[k].policy_tag != now) out->tags.push_back({s.chunks[k].id, now});
  }
}

}  // namespace

extern const PolicyOps kArcPolicy;
const PolicyOps kArcPolicy = {
    kPolicyOpsVersion, "arc",
    "adaptive replacement cache: recency and frequency lists with ghosts, adaptive split",
    plan_arc};

}  // namespace tier::policy
