// engine_replay.cpp - the epoch loop of the trace replay (see engine_replay.hpp).
//
// Thread-safety: see engine_replay.hpp.
#include "engine_replay.hpp"

#include <algorithm>
#include <cmath>

#include "heat/reuse.hpp"
#include "policy/simulator.hpp"

namespace tier::replay {

namespace {

constexpr int32_t kFast = 0, kSlow = 1, kNowhere = -1;

// One object's heat and placement, the fields the chunk table and the tracker keep.
struct Object {
  int32_t node = kNowhere;
  uint8_t tag = 0;
  float temperature = 0;
  double decay_mark = 0;  // cumulative log2 decay when `temperature` was last brought up to date
  uint64_t total = 0;
  uint32_t history = 0;
  uint64_t history_epoch = 0;  // epoch `history` is aligned to (bit 0)
  uint64_t last_access = 0;
  uint64_t last_move = 0;
  uint32_t accesses = 0;  // this epoch
  uint32_t slot = 0;      // position in the resident or tagged list
};

// A list of object ids with O(1) insert and remove (swap with the last).
struct IdSet {
  std::vector<uint32_t> ids;
  void insert(std::vector<Object> &objs, uint32_t o) {
    objs[o].slot = static_cast<uint32_t>(ids.size());
    ids.push_back(o);
  }
  void erase(std::vector<Object> &objs, uint32_t o) {
    const uint32_t at = objs[o].slot, last = ids.back();
    ids[at] = last;
    objs[last].slot = at;
    ids.pop_back();
  }
};

class Replayer {
 public:
  Replayer(const Workload &w, const policy::Policy &p, const ReplayConfig &c)
      : w_(w), policy_(p), c_(c), objs_(w.objects), half_life_(c.temperature.half_life_epochs) {
    const uint64_t fast = c.capacity_objects * w.object_bytes;
    nodes_[0] = c.fast_figures;
    nodes_[0].id = kFast;
    nodes_[0].tier = 0;
    nodes_[0].capacity = fast;
    nodes_[0].wm_low = static_cast<uint64_t>(c.wm_low * static_cast<double>(fast));
    nodes_[0].wm_high = static_cast<uint64_t>(c.wm_high * static_cast<double>(fast));
    nodes_[1] = c.slow_figures;
    nodes_[1].id = kSlow;
    nodes_[1].tier = 1;
    nodes_[1].capacity = std::max<uint64_t>(w.objects, 1) * w.object_bytes;
    snap_.move = c.move;
    r_.policy = p.name();
    r_.capacity_objects = c.capacity_objects;
  }

  Result<ReplayResult> run() {
    uint64_t begin = 0;
    for (uint64_t e = 1; e <= w_.epochs(); ++e) {
      const uint64_t end = w_.epoch_end[e - 1];
      decay_ += -1.0 / half_life_;
      touched_.clear();
      for (uint64_t i = begin; i < end; ++i) reference(w_.refs[i], e);
      begin = end;
      // The tracker's adaptive half-life applies from the next epoch on, as in advance().
      half_life_ = heat::adaptive_half_life(c_.temperature, reuse_);
      if (Status st = plan(e); !st) return std::move(st).error();
    }
    r_.epochs = w_.epochs();
    r_.final_half_life = half_life_;
    return r_;
  }

 private:
  void bring_up_to_date(Object &o, uint64_t e) const {
    const double t = o.temperature * std::exp2(decay_ - o.decay_mark);
    o.temperature = t < 1e-3 ? 0.0f : static_cast<float>(t);
    o.decay_mark = decay_;
    const uint64_t shift = e - o.history_epoch;
    o.history = shift >= 32 ? 0 : o.history << shift;
    o.history_epoch = e;
  }

  void reference(uint32_t id, uint64_t e) {
    const uint64_t bytes = w_.object_bytes;
    Object &o = objs_[id];
    ++r_.refs;
    if (o.node == kNowhere) {  // first reference: the prefill writes the new block
      o.node = nodes_[0].free_bytes() >= bytes ? kFast : kSlow;
      nodes_[o.node].used += bytes;
      (o.node == kFast ? r_.fast_write_bytes : r_.slow_write_bytes) += bytes;
      if (o.node == kFast) residents_.insert(objs_, id);
    } else {
      r_.hits += o.node == kFast;
      (o.node == kFast ? r_.fast_read_bytes : r_.slow_read_bytes) += bytes;
    }
    bring_up_to_date(o, e);
    if (o.accesses == 0) {
      touched_.push_back(id);
      if (o.last_access && c_.temperature.adaptive) reuse_.add(e - o.last_access);
    }
    ++o.accesses;
    ++o.total;
    o.temperature += 1.0f;
    o.history |= 1u;
    o.last_access = e;
  }

  policy::ChunkInfo row(uint32_t id, uint64_t e) {
    Object &o = objs_[id];
    bring_up_to_date(o, e);
    policy::ChunkInfo ci;
    ci.id = id;
    ci.bytes = w_.object_bytes;
    ci.node = o.node;
    ci.policy_tag = o.tag;
    ci.temperature = o.temperature;
    ci.accesses = o.accesses;
    ci.total_accesses = o.total;
    ci.history = o.history;
    ci.last_access_epoch = o.last_access;
    ci.last_move_epoch = o.last_move;
    return ci;
  }

  Status plan(uint64_t e) {
    snap_.epoch = e;
    snap_.budget_bytes = c_.budget_bytes;
    snap_.nodes.assign(nodes_, nodes_ + 2);
    snap_.chunks.clear();
    for (uint32_t id : residents_.ids) snap_.chunks.push_back(row(id, e));
    for (uint32_t id : touched_)
      if (objs_[id].node != kFast) snap_.chunks.push_back(row(id, e));
    for (uint32_t id : tagged_.ids)
      if (objs_[id].node != kFast && objs_[id].accesses == 0) snap_.chunks.push_back(row(id, e));
    for (uint32_t id : touched_) objs_[id].accesses = 0;

    policy::Plan p;
    if (c_.check) {
      auto planned = policy_.plan(snap_);
      if (!planned) return std::move(planned).error();
      if (Status st = policy::check_plan(snap_, *planned); !st)
        return std::move(st).error().context(std::string(policy_.name()) + " epoch " +
                                             std::to_string(e));
      p = std::move(*planned);
    } else {
      p = policy_.plan_unchecked(snap_);
    }
    for (const policy::Move &m : p.moves) {
      Object &o = objs_[m.chunk];
      nodes_[o.node].used -= m.bytes;
      nodes_[m.to].used += m.bytes;
      if (o.node == kFast) residents_.erase(objs_, static_cast<uint32_t>(m.chunk));
      if (m.to == kFast) residents_.insert(objs_, static_cast<uint32_t>(m.chunk));
      o.node = m.to;
      o.last_move = e;
    }
    for (const policy::Plan::Tag &t : p.tags) {
      Object &o = objs_[t.chunk];
      if (o.tag == t.tag) continue;
      // The tagged list tracks the tags of objects off the fast tier, which must be shown to
      // the policy although nothing else puts them in the snapshot.
      if (o.tag) tagged_.erase(tag_slots_, objs_, static_cast<uint32_t>(t.chunk));
      o.tag = t.tag;
      if (o.tag) tagged_.insert(tag_slots_, objs_, static_cast<uint32_t>(t.chunk));
    }
    snap_.policy_state = p.policy_state;
    r_.moves += p.moves.size();
    r_.bytes_migrated += p.bytes;
    r_.promoted_bytes += p.promoted;
    r_.demoted_bytes += p.demoted;
    return {};
  }

  // Tagged objects need their own slot index, separate from the resident list's.
  struct TagSet {
    std::vector<uint32_t> ids;
    void insert(std::vector<uint32_t> &slots, std::vector<Object> &, uint32_t o) {
      if (slots.size() <= o) slots.resize(o + 1);
      slots[o] = static_cast<uint32_t>(ids.size());
      ids.push_back(o);
    }
    void erase(std::vector<uint32_t> &slots, std::vector<Object> &, uint32_t o) {
      const uint32_t at = slots[o], last = ids.back();
      ids[at] = last;
      slots[last] = at;
      ids.pop_back();
    }
  };

  const Workload &w_;
  const policy::Policy &policy_;
  ReplayConfig c_;
  std::vector<Object> objs_;
  policy::NodeState nodes_[2];
  IdSet residents_;
  TagSet tagged_;
  std::vector<uint32_t> tag_slots_;
  std::vector<uint32_t> touched_;
  policy::Snapshot snap_;
  heat::ReuseEstimator reuse_;
  double decay_ = 0;
  double half_life_;
  ReplayResult r_;
};

}  // namespace

Result<ReplayResult> replay(const Workload &w, const policy::Policy &policy,
                            const ReplayConfig &config) {
  if (w.object_bytes == 0 || w.epochs() == 0)
    return make_error(TIER_EINVAL, "replay: empty workload " + w.name);
  Replayer r(w, policy, config);
  return r.run();
}

}  // namespace tier::replay
