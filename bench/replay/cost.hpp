// cost.hpp - modelled memory time of a replay on the built-in emulated topology.
//
// The fast tier is the fastest node of the `default` preset (HBM) and the capacity tier its
// slowest (the CXL pool), with the preset's figures (libtier/topology presets, cost model in
// libtier/emu/cost_model.hpp). Every reference streams its whole object from the node that
// served it, every creation streams it into the node it was written to, both closed-loop (the
// replay runs back to back), and every migrated byte is charged as a move in 2 MiB pages. The
// figures compare policies with one another; they are not a prediction of any machine.
//
// Thread-safety: the model is built once and is immutable.
#pragma once

#include "common/result.hpp"
#include "emu/cost_model.hpp"
#include "engine_replay.hpp"

namespace tier::replay {

struct ModelledTime {
  double access_s = 0;     // reads and creations on both nodes
  double migration_s = 0;  // moves between them
  double total_s() const { return access_s + migration_s; }
};

class TimeModel {
 public:
  static Result<TimeModel> make();  // from the `default` preset on a fixed one-node machine
  Result<ModelledTime> time(const ReplayResult &r) const;
  int fast_node() const { return fast_; }
  int slow_node() const { return slow_; }
  std::string describe() const;
  // The fast and capacity nodes' figures and the move costs, into the replay's snapshots.
  void describe_nodes(ReplayConfig *config) const;

 private:
  emu::CostModel model_;
  int fast_ = -1, slow_ = -1;
  policy::NodeState fast_state_, slow_state_;
};

}  // namespace tier::replay
