// planner.hpp - the machinery the built-in policies share: units, node accounting, budgeted
// whole-unit moves, and the ranked exchange (promote the most deserving, evict the least).
//
// A Unit is what moves as one: an object group (adjacent chunks with the same group id and
// owner) or a lone chunk. The Planner tracks each node's free bytes and the budget as moves
// are added, so every move it accepts keeps the plan's contract (snapshot.hpp): within the
// budget, never over a node's capacity, never a pinned unit, always the whole unit.
//
// exchange() is the one algorithm behind lru, lfu, tpp and heat; a policy supplies a key per
// unit (higher = belongs in a faster tier), the fastest tier each unit should be promoted
// towards, and rules (margins, cooldown, watermarks). It runs in two passes:
//  1. pressure: every node of a non-last tier whose free bytes are below its trigger mark
//     demotes its lowest-key units until its restore mark is free again;
//  2. promotion: candidates in decreasing key order go to their wanted tier, or the next one
//     down that takes them (the cascade), into free room or, when the rules allow, by evicting
//     lower-key units of the target node first. Evicted units go one tier down if it has room,
//     else make room there by the same rule, else further down.
// Heaps keep it O(n + m log n) for m moves; no full sort of a million chunks.
//
// Thread-safety: a Planner is a local value used by one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "policy/snapshot.hpp"

namespace tier::policy {

// 32 bytes: the engine streams over a million of these several times per plan, so what is
// rarely needed (recency, frequency, history) is read from the chunks on demand (stats()).
struct Unit {
  uint32_t first = 0;  // index of its first chunk in Snapshot::chunks
  uint32_t count = 0;  // chunks
  uint64_t bytes = 0;
  int32_t node = -1;             // planner node index of its first chunk
  uint32_t last_move_epoch = 0;  // latest move of any chunk (saturated to 32 bits)
  float heat = 0;                // sum of chunk temperatures
  bool pinned = false;           // any chunk pinned pins the unit
  bool split = false;            // its chunks are on more than one node

  // Temperature per MiB: heat density, so a 64 MiB expert and a 2 MiB block compare fairly.
  double density() const { return bytes ? heat * 1048576.0 / static_cast<double>(bytes) : 0; }
};
static_assert(sizeof(Unit) == 32);

// Access figures of a unit, summed (or OR-ed, or max-ed) over its chunks.
struct UnitStats {
  uint64_t accesses = 0;  // this epoch
  uint64_t total_accesses = 0;
  uint32_t history = 0;
  uint64_t last_access_epoch = 0;
};

// Scratch memory of one plan. For a million chunks it is ~100 MiB, and page faults on fresh
// allocations would cost more than the planning itself, so each thread keeps one and reuses
// it across plans (capacity is kept, contents are reset). It carries no information from one
// plan to the next: planning stays a pure function of the snapshot.
// A heap entry of exchange(): the unit's key is copied in, so building and popping the
// heaps compares neighbouring entries instead of loading keys from all over a 4 MiB array.
struct Ranked {
  float key = 0;
  uint32_t unit = 0;
};

// What exchange()'s pass over every unit needs of one, in 8 bytes instead of the Unit's 32:
// that pass (victims and candidates of a million units) streams this, the keys and the wants,
// not the units. Written with the unit, kept in step by Planner::move().
struct UnitBrief {
  enum : uint8_t { kPinned = 1, kSplit = 2 };
  uint32_t last_move_epoch = 0;  // as Unit::last_move_epoch
  uint16_t node = 0;             // planner node index (node ids are 0 .. 65535, so it fits)
  uint8_t flags = 0;
  uint8_t unused = 0;
};
static_assert(sizeof(UnitBrief) == 8);

struct Workspace {
  std::vector<Unit> units;
  std::vector<UnitBrief> briefs;     // per unit, for exchange()'s scan
  std::vector<uint32_t> node_units;  // per planner node: units whose first chunk is there
  std::vector<uint8_t> moved;
  std::vector<float> key;
  std::vector<int8_t> want;
  std::vector<std::vector<Ranked>> victims;  // per node
  std::vector<uint8_t> victims_heaped;       // per node: victims[n] is a heap already
  std::vector<Ranked> candidates;
  std::vector<int64_t> scratch;  // per-node sums for policies
  bool in_use = false;
};

// Which free-byte mark of a node a rule refers to.
enum class Mark : uint8_t { kZero, kLow, kHigh };

class Planner {
 public:
  // Uses the calling thread's workspace (or a private one if a Planner is already live on
  // this thread).
  explicit Planner(const Snapshot &snapshot)
      : Planner(snapshot, [](uint32_t, const Unit &, float &) {}) {}
  // The same, calling on_unit(index, unit, key) once per unit, in order, as soon as the unit
  // is complete, with the unit's key (0) to set. A policy whose key depends only on the unit
  // computes it here, in the pass that reads the chunks, instead of streaming the million
  // units through the cache once more.
  template <class OnUnit>
  Planner(const Snapshot &snapshot, OnUnit &&on_unit) : Planner(snapshot, NodesOnly{}) {
    build_units(on_unit);
  }
  ~Planner();
  Planner(const Planner &) = delete;
  Planner &operator=(const Planner &) = delete;

  Workspace &workspace() { return *ws_; }

  const Snapshot &snapshot() const { return s_; }
  uint64_t epoch() const { return s_.epoch; }
  std::vector<Unit> &units() { return ws_->units; }
  const std::vector<Unit> &units() const { return ws_->units; }
  // Per-unit key and wanted tier for exchange(), sized to units() and reset (0, -1).
  std::vector<float> &keys() { return ws_->key; }
  uint64_t id(const Unit &u) const { return s_.chunks[u.first].id; }  // the tie-break
  UnitStats stats(const Unit &u) const;
  std::vector<int8_t> &wants() { return ws_->want; }
  const std::vector<UnitBrief> &briefs() const { return ws_->briefs; }
  // Units on node n (by their first chunk until moved; move() keeps it current).
  uint32_t units_on(int n) const { return ws_->node_units[n]; }

  int node_count() const { return static_cast<int>(nodes_.size()); }
  const NodeState &node(int n) const { return *nodes_[n]; }
  int tier_count() const { return static_cast<int>(tier_nodes_.size()); }
  int tier_of_node(int n) const { return node_tier_[n]; }  // dense: 0 .. tier_count()-1
  const std::vector<int> &nodes_of_tier(int t) const { return tier_nodes_[t]; }
  int tier_of(const Unit &u) const { return node_tier_[u.node]; }

  int64_t free(int n) const { return free_[n]; }  // negative when over capacity
  uint64_t mark(int n, Mark m) const;
  uint64_t budget_left() const { return budget_left_; }
  // Bytes of the unit that would move to node n (chunks already there stay).
  uint64_t cost(const Unit &u, int n) const;
  // Moved within `cooldown` epochs (0 = no cooldown).
  bool cooling(const Unit &u, uint32_t cooldown) const {
    return cooling(u.last_move_epoch, cooldown);
  }
  bool cooling(uint32_t last_move_epoch, uint32_t cooldown) const {
    return cooldown && last_move_epoch && s_.epoch - uint64_t{last_move_epoch} < cooldown;
  }
  bool moved(uint32_t unit) const { return ws_->moved[unit]; }

  // Of the nodes of tier t, the one with the most free bytes that can take unit u keeping
  // `keep` bytes free (ties to the lower id), or -1.
  int node_with_room(int t, const Unit &u, Mark keep) const;
  // Adds the whole unit's move to node n, all or nothing: false (and nothing changes) when it
  // would exceed the budget, take n below `keep` free bytes, or the unit is pinned.
  bool move(uint32_t unit, int n, Reason reason, Mark keep);

  Plan finish() { return std::move(plan_); }

 private:
  struct NodesOnly {};
  Planner(const Snapshot &snapshot, NodesOnly);  // workspace and nodes, no units yet
  template <class OnUnit>
  void build_units(OnUnit &on_unit);

  const Snapshot &s_;
  std::unique_ptr<Workspace> own_;  // only when the thread's workspace is taken
  Workspace *ws_;
  std::vector<const NodeState *> nodes_;  // ordered by (tier, id)
  std::vector<int> node_tier_;
  std::vector<std::vector<int>> tier_nodes_;
  std::vector<int> index_of_id_;  // node id -> planner index (-1 = none)
  std::vector<int64_t> free_;
  uint64_t budget_left_;
  Plan plan_;
};

// Units: runs of adjacent chunks with one non-zero group and owner; other chunks alone. The
// unit being built lives in registers and is stored once, complete, through a plain pointer:
// the vectors are grown to the worst case (every chunk alone) and cut to size afterwards, so
// with the reused workspace a plan writes each unit and key once and allocates nothing.
template <class OnUnit>
void Planner::build_units(OnUnit &on_unit) {
  const ChunkInfo *chunks = s_.chunks.data();
  const auto n = static_cast<uint32_t>(s_.chunks.size());
  std::vector<Unit> &units = ws_->units;
  if (units.size() < n) units.resize(n);
  if (ws_->key.size() < n) ws_->key.resize(n);
  if (ws_->briefs.size() < n) ws_->briefs.resize(n);
  Unit *out = units.data();
  float *key = ws_->key.data();
  UnitBrief *brief = ws_->briefs.data();
  ws_->node_units.assign(nodes_.size(), 0);
  uint32_t *node_units = ws_->node_units.data();
  const int *index_of_id = index_of_id_.data();
  uint32_t count = 0;
  Unit u;
  // Inlined by force: out of line, `u` would live in memory and the pass run twice as long.
  auto emit = [&]() __attribute__((always_inline)) {
    key[count] = 0.0f;
    on_unit(count, u, key[count]);
    brief[count] = UnitBrief{u.last_move_epoch, static_cast<uint16_t>(u.node),
                             static_cast<uint8_t>((u.pinned ? UnitBrief::kPinned : 0) |
                                                  (u.split ? UnitBrief::kSplit : 0)),
                             0};
    ++node_units[u.node];
    out[count++] = u;
  };
  for (uint32_t i = 0; i < n; ++i) {
    const ChunkInfo &c = chunks[i];
    const int node = index_of_id[c.node];
    const bool joins =
        i > 0 && c.group != 0 && chunks[i - 1].group == c.group && chunks[i - 1].owner == c.owner;
    if (!joins) {
      if (i > 0) emit();
      u = Unit{};
      u.first = i;
      u.node = node;
    }
    ++u.count;
    u.bytes += c.bytes;
    u.pinned |= c.pinned;
    u.split |= node != u.node;
    u.heat += c.temperature;
    u.last_move_epoch =
        std::max(u.last_move_epoch,
                 static_cast<uint32_t>(std::min<uint64_t>(c.last_move_epoch, UINT32_MAX)));
  }
  if (n > 0) emit();
  units.resize(count);
  ws_->key.resize(count);
  ws_->briefs.resize(count);
  ws_->moved.assign(count, 0);
  ws_->want.assign(count, -1);
}

struct ExchangeRules {
  double margin = 0;      // a candidate evicts a victim only if key_c > key_v * (1 + margin)
  uint32_t cooldown = 0;  // units moved within this many epochs are left alone
  bool evict = true;      // promotions may evict; false = only into free room (tpp)
  Mark pressure_below = Mark::kZero;    // a node is under pressure below this many free bytes
  Mark pressure_restore = Mark::kZero;  // ... and demotes until this many are free
  Mark keep = Mark::kZero;  // promotions and demotions into non-last tiers keep this free
  // When set (tier_count() - 1 values, fastest tier first): a unit with a positive key wants
  // the fastest tier t with key >= want_threshold[t], and planner.wants() is not read. The
  // wants are then worked out in exchange()'s own pass over the units instead of one more.
  const double *want_threshold = nullptr;
  // Cost-aware rules, read only with want_threshold (nullptr = none). move_threshold holds
  // tier_count()^2 values: [f * tier_count() + t] is the least key with which a unit on tier f
  // may move up to tier t (a move must repay its cost: move_cost.hpp). evict_margin (one per
  // tier) is what a candidate's key must exceed a victim's by to evict it from tier t: the
  // exchange must repay the candidate's promotion and the victim's demotion.
  const double *move_threshold = nullptr;
  const double *evict_margin = nullptr;
};

// Runs the two passes on `planner`. planner.keys()[u] ranks unit u (higher = faster tier);
// planner.wants()[u] is the fastest tier unit u should be promoted towards, or -1 when it is
// no candidate (or rules.want_threshold says it).
void exchange(Planner &planner, const ExchangeRules &rules);

}  // namespace tier::policy
