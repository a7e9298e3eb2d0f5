// engine_replay.cpp - the epoch loop of the trace replay (see engine_replay.hpp).
//
// Thread-safety: see engine_replay.hpp.
#include "engine_replay.hpp"

#include <algorithm>
#include <cmath>

#include "epoch/runner.hpp"

namespace tier::replay {

namespace {

constexpr int32_t kFast = 0, kSlow = 1, kNowhere = -1;

// One object's heat and placement: the fields every chunk source keeps, folded by the heat
// rule when the object is shown to the policy.
struct Object {
  int32_t node = kNowhere;
  uint8_t tag = 0;
  float temperature = 0;
  uint64_t total = 0;
  uint32_t history = 0;
  uint64_t last_access_epoch = 0;
  uint64_t last_move = 0;
  uint32_t accesses = 0;  // this epoch, not yet folded
  heat::HeatClock::Mark mark;
  uint32_t slot = 0;  // position in the resident list
};

// A list of object ids with O(1) insert and remove (swap with the last); `slot_of` says where
// each member is.
template <class SlotOf>
struct IdSet {
  std::vector<uint32_t> ids;
  void insert(SlotOf &slot_of, uint32_t o) {
    slot_of(o) = static_cast<uint32_t>(ids.size());
    ids.push_back(o);
  }
  void erase(SlotOf &slot_of, uint32_t o) {
    const uint32_t at = slot_of(o), last = ids.back();
    ids[at] = last;
    slot_of(last) = at;
    ids.pop_back();
  }
};

class Replayer final : public epoch::ChunkSource, public epoch::MoveSink {
 public:
  Replayer(const Workload &w, const policy::Policy &p, const ReplayConfig &c)
      : w_(w), c_(c), objs_(w.objects), runner_(runner_config(c), p) {
    const uint64_t fast = c.capacity_objects * w.object_bytes;
    nodes_.resize(2);
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
    r_.policy = p.name();
    r_.capacity_objects = c.capacity_objects;
  }

  Result<ReplayResult> run() {
    uint64_t begin = 0;
    for (uint64_t e = 1; e <= w_.epochs(); ++e) {
      const uint64_t end = w_.epoch_end[e - 1];
      touched_.clear();
      for (uint64_t i = begin; i < end; ++i) reference(w_.refs[i]);
      begin = end;
      Result<epoch::Report> rep = runner_.run(e, nodes_, *this, nullptr, *this);
      if (!rep) return std::move(rep).error();
      const policy::Plan &p = runner_.last_plan();
      if (c_.on_plan) c_.on_plan(e, p);
      r_.moves += p.moves.size();
      r_.bytes_migrated += p.bytes;
      r_.promoted_bytes += p.promoted;
      r_.demoted_bytes += p.demoted;
    }
    r_.epochs = w_.epochs();
    r_.final_half_life = runner_.clock().half_life();
    return r_;
  }

  // The source: the fast tier's residents, the objects referenced this epoch, and the objects
  // the policy tagged (ARC's ghosts), each folded by the heat rule now.
  Status collect(heat::HeatClock &clock, policy::Snapshot *snap, epoch::Report *rep) override {
    auto row = [&](uint32_t id) {
      Object &o = objs_[id];
      const uint32_t delta = o.accesses;
      clock.fold_after(o, delta, &o.mark);
      o.accesses = 0;
      ++rep->chunks;
      rep->accesses += delta;
      rep->active_chunks += delta ? 1 : 0;
      policy::ChunkInfo ci;
      ci.id = id;
      ci.bytes = w_.object_bytes;
      ci.node = o.node;
      ci.policy_tag = o.tag;
      ci.temperature = o.temperature;
      ci.accesses = delta;
      ci.total_accesses = o.total;
      ci.history = o.history;
      ci.last_access_epoch = o.last_access_epoch;
      ci.last_move_epoch = o.last_move;
      snap->chunks.push_back(ci);
    };
    for (uint32_t id : residents_.ids) row(id);
    for (uint32_t id : touched_)
      if (objs_[id].node != kFast) row(id);
    for (uint32_t id : tagged_.ids)
      if (objs_[id].node != kFast && objs_[id].mark.epoch != clock.epoch()) row(id);
    return {};
  }

  void keep_tags(const std::vector<policy::Plan::Tag> &tags) override {
    for (const policy::Plan::Tag &t : tags) {
      Object &o = objs_[t.chunk];
      if (o.tag == t.tag) continue;
      // The tagged list tracks the tags of objects off the fast tier, which must be shown to
      // the policy although nothing else puts them in the snapshot.
      if (o.tag) tagged_.erase(tag_slot_, static_cast<uint32_t>(t.chunk));
      o.tag = t.tag;
      if (o.tag) tagged_.insert(tag_slot_, static_cast<uint32_t>(t.chunk));
    }
  }

  // The sink: a move changes the object's node and counts as migrated bytes.
  Status apply(const policy::Snapshot &snap, const std::vector<policy::Move> &moves,
               std::vector<bool> *landed, epoch::Report *) override {
    for (size_t i = 0; i < moves.size(); ++i) {
      const policy::Move &m = moves[i];
      Object &o = objs_[m.chunk];
      nodes_[o.node].used -= m.bytes;
      nodes_[m.to].used += m.bytes;
      if (o.node == kFast) residents_.erase(resident_slot_, static_cast<uint32_t>(m.chunk));
      if (m.to == kFast) residents_.insert(resident_slot_, static_cast<uint32_t>(m.chunk));
      o.node = m.to;
      o.last_move = snap.epoch;
      (*landed)[i] = true;
    }
    return {};
  }

 private:
  static epoch::RunnerConfig runner_config(const ReplayConfig &c) {
    epoch::RunnerConfig rc;
    rc.temperature = c.temperature;
    rc.budget_bytes = c.budget_bytes;
    rc.move = c.move;
    rc.validate = c.check;
    rc.check_plans = c.check;
    return rc;
  }

  void reference(uint32_t id) {
    const uint64_t bytes = w_.object_bytes;
    Object &o = objs_[id];
    ++r_.refs;
    if (o.node == kNowhere) {  // first reference: the prefill writes the new block
      o.node = nodes_[0].free_bytes() >= bytes ? kFast : kSlow;
      nodes_[o.node].used += bytes;
      (o.node == kFast ? r_.fast_write_bytes : r_.slow_write_bytes) += bytes;
      if (o.node == kFast) residents_.insert(resident_slot_, id);
    } else {
      r_.hits += o.node == kFast;
      (o.node == kFast ? r_.fast_read_bytes : r_.slow_read_bytes) += bytes;
    }
    if (o.accesses == 0) touched_.push_back(id);
    ++o.accesses;
  }

  struct ResidentSlot {
    std::vector<Object> *objs;
    uint32_t &operator()(uint32_t o) { return (*objs)[o].slot; }
  };
  struct TagSlot {  // tagged objects need their own slot index, apart from the residents'
    std::vector<uint32_t> slots;
    uint32_t &operator()(uint32_t o) {
      if (slots.size() <= o) slots.resize(o + 1);
      return slots[o];
    }
  };

  const Workload &w_;
  ReplayConfig c_;
  std::vector<Object> objs_;
  std::vector<policy::NodeState> nodes_;
  ResidentSlot resident_slot_{&objs_};
  TagSlot tag_slot_;
  IdSet<ResidentSlot> residents_;
  IdSet<TagSlot> tagged_;
  std::vector<uint32_t> touched_;
  epoch::Runner runner_;
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
