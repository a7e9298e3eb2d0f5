// cost.cpp - charging a replay's traffic through the emulation cost model (see cost.hpp).
//
// Thread-safety: see cost.hpp.
#include "cost.hpp"

#include <sstream>

#include "topology/topology.hpp"

namespace tier::replay {

Result<TimeModel> TimeModel::make() {
  // A fixed machine, so modelled times do not depend on the host the replay runs on.
  Topology machine;
  machine.source = "tier-replay machine";
  Node n;
  n.id = 0;
  n.backing_node = 0;
  n.name = "node0";
  n.total = n.capacity = 64ull << 30;
  n.free = n.total;
  n.cpus = {0};
  machine.nodes = {n};
  classify(machine);
  rank_tiers(machine);
  auto topo = load_preset("default", machine);
  if (!topo) return std::move(topo).error();
  TimeModel m;
  m.model_ = emu::make_cost_model(*topo);
  m.fast_ = topo->nodes.front().id;  // nodes are in tier order
  m.slow_ = topo->nodes.back().id;
  m.fast_state_ = emu::node_state(topo->nodes.front());
  m.slow_state_ = emu::node_state(topo->nodes.back());
  return m;
}

Result<ModelledTime> TimeModel::time(const ReplayResult &r) const {
  emu::Access fast, slow;
  fast.node = fast_;
  slow.node = slow_;
  fast.stream_read_bytes = r.fast_read_bytes;
  fast.stream_write_bytes = r.fast_write_bytes;
  slow.stream_read_bytes = r.slow_read_bytes;
  slow.stream_write_bytes = r.slow_write_bytes;
  auto cost = model_.estimate({fast, slow});
  if (!cost) return std::move(cost).error();
  ModelledTime t;
  t.access_s = cost->total_s;
  if (r.bytes_migrated) {
    auto up = model_.migration_seconds(slow_, fast_, r.promoted_bytes, 2u << 20);
    auto down = model_.migration_seconds(fast_, slow_, r.demoted_bytes, 2u << 20);
    if (!up) return std::move(up).error();
    if (!down) return std::move(down).error();
    t.migration_s = *up + *down;
  }
  return t;
}

void TimeModel::describe_nodes(ReplayConfig *config) const {
  config->fast_figures = fast_state_;
  config->slow_figures = slow_state_;
  config->move = model_.migration();
}

std::string TimeModel::describe() const {
  std::ostringstream o;
  for (int id : {fast_, slow_}) {
    const emu::NodeParams *p = model_.find(id);
    if (!p) continue;
    o << (id == fast_ ? "fast" : "capacity") << " tier: node " << id << " (" << p->read_latency_ns
      << " ns, " << p->read_bandwidth_mbps / 1000 << " GB/s read)" << (id == fast_ ? "; " : "");
  }
  return o.str();
}

}  // namespace tier::replay
