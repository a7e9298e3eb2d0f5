// planner.cpp - units, node accounting and the ranked exchange shared by the policies.
//
// Thread-safety: none needed; a Planner lives on one thread's stack for one plan.
#include "policy/planner.hpp"

#include <algorithm>
#include <cmath>

namespace tier::policy {

namespace {
thread_local Workspace t_workspace;
}

Planner::Planner(const Snapshot &snapshot, NodesOnly)
    : s_(snapshot), budget_left_(snapshot.budget_bytes) {
  if (t_workspace.in_use) {
    own_ = std::make_unique<Workspace>();
    ws_ = own_.get();
  } else {
    ws_ = &t_workspace;
  }
  ws_->in_use = true;
  for (const NodeState &n : s_.nodes) nodes_.push_back(&n);
  std::sort(nodes_.begin(), nodes_.end(), [](const NodeState *a, const NodeState *b) {
    return a->tier != b->tier ? a->tier < b->tier : a->id < b->id;
  });
  int max_id = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    max_id = std::max(max_id, nodes_[i]->id);
    if (i == 0 || nodes_[i]->tier != nodes_[i - 1]->tier) tier_nodes_.emplace_back();
    tier_nodes_.back().push_back(static_cast<int>(i));
    node_tier_.push_back(static_cast<int>(tier_nodes_.size()) - 1);
    const NodeState &n = *nodes_[i];
    free_.push_back(static_cast<int64_t>(n.capacity) - static_cast<int64_t>(n.used));
  }
  index_of_id_.assign(static_cast<size_t>(max_id) + 1, -1);
  for (size_t i = 0; i < nodes_.size(); ++i) index_of_id_[nodes_[i]->id] = static_cast<int>(i);
}

Planner::~Planner() {
  ws_->in_use = false;
}

UnitStats Planner::stats(const Unit &u) const {
  UnitStats st;
  for (uint32_t i = u.first; i < u.first + u.count; ++i) {
    const ChunkInfo &c = s_.chunks[i];
    st.accesses += c.accesses;
    st.total_accesses += c.total_accesses;
    st.history |= c.history;
    st.last_access_epoch = std::max(st.last_access_epoch, c.last_access_epoch);
  }
  return st;
}

uint64_t Planner::mark(int n, Mark m) const {
  switch (m) {
    case Mark::kLow:
      return nodes_[n]->wm_low;
    case Mark::kHigh:
      return nodes_[n]->wm_high;
    case Mark::kZero:
      break;
  }
  return 0;
}

uint64_t Planner::cost(const Unit &u, int n) const {
  if (!u.split) return u.node == n ? 0 : u.bytes;
  uint64_t bytes = 0;
  for (uint32_t i = u.first; i < u.first + u.count; ++i)
    if (index_of_id_[s_.chunks[i].node] != n) bytes += s_.chunks[i].bytes;
  return bytes;
}

int Planner::node_with_room(int t, const Unit &u, Mark keep) const {
  int best = -1;
  for (int n : tier_nodes_[t]) {
    const int64_t c = static_cast<int64_t>(cost(u, n));
    if (c == 0 || free_[n] - c < static_cast<int64_t>(mark(n, keep))) continue;
    if (best < 0 || free_[n] > free_[best]) best = n;  // nodes are in id order: ties keep lower
  }
  return best;
}

bool Planner::move(uint32_t unit, int n, Reason reason, Mark keep) {
  Unit &u = ws_->units[unit];
  if (u.pinned || ws_->moved[unit]) return false;
  const uint64_t c = cost(u, n);
  if (c == 0 || c > budget_left_) return false;
  if (free_[n] - static_cast<int64_t>(c) < static_cast<int64_t>(mark(n, keep))) return false;
  const int32_t to = nodes_[n]->id;
  for (uint32_t i = u.first; i < u.first + u.count; ++i) {
    const ChunkInfo &chunk = s_.chunks[i];
    const int from = index_of_id_[chunk.node];
    if (from == n) continue;
    plan_.moves.push_back(Move{chunk.id, chunk.node, to, chunk.bytes, reason, chunk.group});
    free_[from] += static_cast<int64_t>(chunk.bytes);
    free_[n] -= static_cast<int64_t>(chunk.bytes);
  }
  budget_left_ -= c;
  plan_.bytes += c;
  (reason == Reason::kPromote ? plan_.promoted : plan_.demoted) += c;
  --ws_->node_units[u.node];
  ++ws_->node_units[n];
  u.node = n;
  u.split = false;
  ws_->briefs[unit].node = static_cast<uint16_t>(n);
  ws_->briefs[unit].flags &= static_cast<uint8_t>(~UnitBrief::kSplit);
  ws_->moved[unit] = 1;
  return true;
}

namespace {

// The state of one exchange() call.
class Exchange {
 public:
  Exchange(Planner &p, const ExchangeRules &rules)
      : p_(p),
        units_(p.units()),
        key_(p.keys()),
        want_(p.wants()),
        rules_(rules),
        tiers_(p.tier_count()),
        victims_(p.workspace().victims),
        heaped_(p.workspace().victims_heaped),
        cands_(p.workspace().candidates) {
    for (int n = 0; n < p.node_count(); ++n) node_tier_.push_back(p.tier_of_node(n));
    victims_.resize(p.node_count());
    for (auto &h : victims_) h.clear();
    heaped_.assign(p.node_count(), 0);
    cands_.clear();
  }

  void run() {
    if (tiers_ < 2) return;  // one tier: nowhere to move anything
    build_victims_and_candidates();
    pressure();
    promote();
  }

 private:
  // Strict total order, lower key first, then lower id: "a deserves a fast tier less".
  bool colder(uint32_t a, uint32_t b) const {
    return key_[a] != key_[b] ? key_[a] < key_[b] : p_.id(units_[a]) < p_.id(units_[b]);
  }
  // The same order on heap entries, which carry their key (the id is needed only on ties).
  bool colder(const Ranked &a, const Ranked &b) const {
    return a.key != b.key ? a.key < b.key : p_.id(units_[a.unit]) < p_.id(units_[b.unit]);
  }
  Ranked ranked(uint32_t u) const { return Ranked{key_[u], u}; }
  // Heap order that puts the coldest unit in front.
  struct Hotter {
    const Exchange *x;
    bool operator()(const Ranked &a, const Ranked &b) const { return x->colder(b, a); }
  };
  Hotter hotter_cmp() const { return Hotter{this}; }
  Mark keep_in(int t) const { return t == tiers_ - 1 ? Mark::kZero : rules_.keep; }

  // One pass over the units collects, per node of every non-last tier, the units it could
  // evict, and the promotion candidates. A node's victims become a min-heap (coldest in
  // front) the first time they are asked for: most epochs consult only the fastest tier's,
  // and heapifying the few hundred thousand residents of a middle tier is most of the cost
  // of a small plan. Units the pressure pass moves are skipped lazily when they come up.
  //
  // The pass is a million iterations of unpredictable tests, so it reads the 8-byte briefs,
  // keys and wants (13 bytes a unit) rather than the 32-byte units, and appends victims
  // without a branch: every unit's entry is written at its node's end, which moves on only
  // when it is a victim (each node's array is sized to its units first).
  // The least key with which a unit on tier `from` wants tier t (with want_threshold).
  double want_key(int from, int t) const {
    const double sized = rules_.want_threshold[t];
    if (!rules_.move_threshold) return sized;
    return std::max(sized, rules_.move_threshold[from * tiers_ + t]);
  }

  void build_victims_and_candidates() {
    smallest_ = UINT64_MAX;
    const int last = tiers_ - 1;
    const int nodes = p_.node_count();
    const double *threshold = rules_.want_threshold;
    std::vector<Ranked *> vend(nodes);
    std::vector<uint8_t> victim_node(nodes);
    // A unit is a candidate when some faster tier than its own wants it: with thresholds,
    // when its key reaches the lowest threshold of the tiers above its node's.
    std::vector<double> cand_from(nodes, INFINITY);
    for (int m = 0; m < nodes; ++m) {
      const int tier = node_tier_[m];
      victim_node[m] = tier != last;
      // Room for every unit of the node, + 1 for the blind write after the last victim.
      victims_[m].resize(victim_node[m] ? p_.units_on(m) + 1 : 1);
      vend[m] = victims_[m].data();
      if (threshold)
        for (int t = 0; t < tier; ++t) cand_from[m] = std::min(cand_from[m], want_key(tier, t));
    }
    const UnitBrief *brief = p_.briefs().data();
    int8_t *want = want_.data();
    const float *key = key_.data();
    const int *tier_of_node = node_tier_.data();
    const auto n = static_cast<uint32_t>(units_.size());
    const uint32_t cooldown = rules_.cooldown;
    const uint64_t epoch = p_.epoch();
    for (uint32_t u = 0; u < n; ++u) {
      const UnitBrief b = brief[u];
      // Planner::cooling(), without its branches.
      const bool cooling = (cooldown != 0) & (b.last_move_epoch != 0) &
                           (epoch - uint64_t{b.last_move_epoch} < cooldown);
      const bool eligible = !(b.flags & UnitBrief::kPinned) & !cooling;
      const bool victim = eligible & (victim_node[b.node] != 0) & !(b.flags & UnitBrief::kSplit);
      const float k = key[u];
      Ranked *&end = vend[b.node];
      *end = Ranked{k, u};
      end += victim;
      bool cand;
      if (threshold)
        cand = eligible & (k > 0) & (k >= cand_from[b.node]);  // no heat: never worth a move up
      else
        cand = eligible & (static_cast<unsigned>(static_cast<int>(want[u])) <
                           static_cast<unsigned>(tier_of_node[b.node]));  // -1: none
      if (cand) {
        if (threshold) {  // the fastest tier whose threshold the key reaches
          int t = 0;
          const int from = tier_of_node[b.node];
          while (!(k >= want_key(from, t))) ++t;
          want[u] = static_cast<int8_t>(t);
        }
        cands_.push_back(Ranked{k, u});
      }
    }
    for (int m = 0; m < nodes; ++m)
      victims_[m].resize(static_cast<size_t>(vend[m] - victims_[m].data()));
    // The candidates' sizes in a loop of their own: their units are scattered over the unit
    // array, and here the loads do not wait on each other, where in the pass above each was
    // a cache miss on its own.
    for (const Ranked &c : cands_) smallest_ = std::min(smallest_, units_[c.unit].bytes);
  }
  // Node n's victims as a heap; every access goes through here, so the heap is built from
  // exactly what the scan collected, and the order of evictions does not depend on when.
  std::vector<Ranked> &victim_heap(int n) {
    auto &h = victims_[n];
    if (!heaped_[n]) {
      std::make_heap(h.begin(), h.end(), hotter_cmp());
      heaped_[n] = 1;
    }
    return h;
  }
  int top_victim(int n) {
    auto &h = victim_heap(n);
    while (!h.empty() && p_.moved(h.front().unit)) pop_victim(n);
    return h.empty() ? -1 : static_cast<int>(h.front().unit);
  }
  void pop_victim(int n) {
    auto &h = victim_heap(n);
    std::pop_heap(h.begin(), h.end(), hotter_cmp());
    h.pop_back();
  }
  void push_victim(int n, uint32_t u) {
    auto &h = victim_heap(n);
    h.push_back(ranked(u));
    std::push_heap(h.begin(), h.end(), hotter_cmp());
  }

  // Moves unit v from tier `from` to the nearest slower tier that takes it; when none has
  // room, makes room one tier down by demoting units with a lower key than v's.
  bool place_down(uint32_t v, int from, Reason reason) {
    const Unit &u = units_[v];
    for (int t = from + 1; t < tiers_; ++t) {
      const int n = p_.node_with_room(t, u, keep_in(t));
      if (n >= 0) return p_.move(v, n, reason, keep_in(t));
    }
    const int t = from + 1;
    if (t >= tiers_ - 1) return false;  // the last tier is full: there is no further down
    for (int n : p_.nodes_of_tier(t)) {
      const int64_t need = static_cast<int64_t>(p_.cost(u, n) + p_.mark(n, keep_in(t)));
      while (p_.free(n) < need) {
        const int w = top_victim(n);
        if (w < 0 || !colder(static_cast<uint32_t>(w), v)) break;
        pop_victim(n);
        if (!place_down(static_cast<uint32_t>(w), t, reason)) break;
      }
      if (p_.move(v, n, reason, keep_in(t))) return true;
    }
    return false;
  }

  void pressure() {
    for (int t = 0; t < tiers_ - 1; ++t)
      for (int n : p_.nodes_of_tier(t)) {
        const int64_t below = static_cast<int64_t>(p_.mark(n, rules_.pressure_below));
        if (p_.free(n) >= below && p_.free(n) >= 0) continue;
        const int64_t restore =
            std::max<int64_t>(static_cast<int64_t>(p_.mark(n, rules_.pressure_restore)), 0);
        while (p_.free(n) < restore) {
          const int v = top_victim(n);
          if (v < 0) break;
          pop_victim(n);
          if (!place_down(static_cast<uint32_t>(v), t, Reason::kPressure)) break;
        }
      }
  }

  bool evictable_for(uint32_t c, int w, int t) const {
    if (w < 0) return false;
    const double kc = key_[c], kw = key_[static_cast<uint32_t>(w)];
    const double add = rules_.evict_margin ? rules_.evict_margin[t] : 0;
    return kc > kw && kc > kw * (1.0 + rules_.margin) && kc > kw + add;
  }

  // Tries to bring candidate c into tier t; sets closed_[t] when no later (lower-key)
  // candidate can get in either.
  bool promote_into(uint32_t c, int t) {
    const Unit &u = units_[c];
    const Mark keep = keep_in(t);
    const int room = p_.node_with_room(t, u, keep);
    if (room >= 0) return p_.move(c, room, Reason::kPromote, keep);
    if (!rules_.evict) {
      // Free room only shrinks while promoting without evictions: once no node of t fits the
      // smallest candidate, none will.
      bool fits_smallest = false;
      for (int n : p_.nodes_of_tier(t))
        fits_smallest |=
            p_.free(n) - static_cast<int64_t>(p_.mark(n, keep)) >= static_cast<int64_t>(smallest_);
      if (!fits_smallest) closed_[t] = 1;
      return false;
    }
    bool any_victim = false;
    for (int n : p_.nodes_of_tier(t)) {
      const uint64_t cost = p_.cost(u, n);
      const int64_t need = static_cast<int64_t>(cost + p_.mark(n, keep)) - p_.free(n);
      if (!evictable_for(c, top_victim(n), t)) continue;
      any_victim = true;
      // Choose victims before moving any, so a promotion that cannot complete evicts nothing.
      std::vector<uint32_t> taken;
      int64_t freed = 0;
      uint64_t bytes = cost;
      while (freed < need) {
        const int w = top_victim(n);
        if (!evictable_for(c, w, t)) break;
        pop_victim(n);
        taken.push_back(static_cast<uint32_t>(w));
        freed += static_cast<int64_t>(units_[w].bytes);
        bytes += units_[w].bytes;
      }
      if (freed < need || bytes > p_.budget_left()) {
        for (uint32_t w : taken) push_victim(n, w);
        continue;
      }
      size_t i = 0;
      for (; i < taken.size(); ++i)
        if (!place_down(taken[i], t, Reason::kDemote)) break;
      for (size_t j = i; j < taken.size(); ++j) push_victim(n, taken[j]);
      return p_.move(c, n, Reason::kPromote, keep);
    }
    if (!any_victim) closed_[t] = 1;  // every node's coldest is too hot for c, and for later
    return false;
  }

  void promote() {
    std::vector<Ranked> &cands = cands_;
    const uint64_t smallest = smallest_;
    auto colder_cmp = [this](const Ranked &a, const Ranked &b) { return colder(a, b); };
    std::make_heap(cands.begin(), cands.end(), colder_cmp);  // hottest in front
    closed_.assign(tiers_, 0);
    while (!cands.empty() && p_.budget_left() >= smallest) {
      std::pop_heap(cands.begin(), cands.end(), colder_cmp);
      const uint32_t c = cands.back().unit;
      cands.pop_back();
      if (p_.moved(c)) continue;  // demoted by the pressure pass
      const int tc = p_.tier_of(units_[c]);
      for (int t = want_[c]; t < tc; ++t)
        if (!closed_[t] && promote_into(c, t)) break;
      if (std::count(closed_.begin(), closed_.end() - 1, 1) == tiers_ - 1) break;
    }
  }

  Planner &p_;
  std::vector<Unit> &units_;
  const std::vector<float> &key_;
  std::vector<int8_t> &want_;
  const ExchangeRules &rules_;
  const int tiers_;
  std::vector<std::vector<Ranked>> &victims_;
  std::vector<uint8_t> &heaped_;
  std::vector<Ranked> &cands_;
  std::vector<uint8_t> closed_;
  std::vector<int> node_tier_;      // tier of each planner node index
  uint64_t smallest_ = UINT64_MAX;  // bytes of the smallest promotion candidate
};

}  // namespace

void exchange(Planner &planner, const ExchangeRules &rules) {
  Exchange(planner, rules).run();
}

}  // namespace tier::policy
