// cost_model.cpp - the loaded-latency memory cost model (see cost_model.hpp for the formulas).
//
// Pure functions over immutable values; thread-safe.
#include "emu/cost_model.hpp"

#include "policy/move_cost.hpp"

#include "topology/kind_defaults.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace tier::emu {

namespace {

constexpr double kMB = 1e6;  // bandwidth figures are MB/s (HMAT and hwloc use 10^6)

// Per node, what the interval demands of it, before the curve is applied.
struct Demand {
  const NodeParams *params = nullptr;
  Access sum;
  double busy_s = 0;    // time the channel is busy at peak bandwidth
  double stream_s = 0;  // bandwidth-bound part (streamed bytes only)
  uint64_t bytes = 0;
};

NodeCost cost_at(const Demand &d, double utilisation, double mlp) {
  const NodeParams &p = *d.params;
  NodeCost c;
  c.node = p.id;
  c.utilisation = std::clamp(utilisation, 0.0, p.curve.max_utilisation);
  const double f = latency_factor(p.curve, c.utilisation);
  c.loaded_read_latency_ns = p.read_latency_ns * f;
  c.loaded_write_latency_ns = p.write_latency_ns * f;
  c.latency_s = (static_cast<double>(d.sum.random_reads) * c.loaded_read_latency_ns +
                 static_cast<double>(d.sum.random_writes) * c.loaded_write_latency_ns) *
                1e-9 / mlp;
  c.bandwidth_s = d.stream_s;
  c.total_s = c.latency_s + c.bandwidth_s;
  c.bytes = d.bytes;
  return c;
}

double total_at(const std::vector<Demand> &demands, double interval_s, double mlp) {
  double t = 0;
  for (const auto &d : demands)
    t += cost_at(d, interval_s > 0 ? d.busy_s / interval_s : 1.0, mlp).total_s;
  return t;
}

}  // namespace

double latency_factor(const LatencyCurve &curve, double utilisation) {
  const double u = std::clamp(utilisation, 0.0, curve.max_utilisation);
  return 1.0 + curve.a * std::pow(u, curve.k) / (1.0 - u);
}

NodeParams kind_defaults(tier_node_kind kind) {
  // One source of per-kind figures for the whole runtime (topology/kind_defaults.cpp); a
  // node of unknown kind is costed as DRAM, the kind Tier assumes when nothing says otherwise.
  KindDefaults d = tier::kind_defaults(kind);
  if (!(d.read_latency_ns > 0)) d = tier::kind_defaults(TIER_KIND_DRAM);
  NodeParams p;
  p.kind = kind;
  p.read_latency_ns = d.read_latency_ns;
  p.write_latency_ns = d.write_latency_ns;
  p.read_bandwidth_mbps = d.read_bandwidth_mbps;
  p.write_bandwidth_mbps = d.write_bandwidth_mbps;
  return p;
}

NodeParams make_node_params(const Node &node) {
  const NodeParams def = kind_defaults(node.kind);
  NodeParams p = def;
  p.id = node.id;
  // A declared figure for the other direction beats a kind default for this one.
  auto pick = [&p](const Figure &own, const Figure &fallback, double dflt) {
    const bool own_real = own.known() && own.source != TIER_SOURCE_DEFAULT;
    const bool fallback_real = fallback.known() && fallback.source != TIER_SOURCE_DEFAULT;
    if (own_real || (own.known() && !fallback_real)) {
      p.defaulted = p.defaulted || own.source == TIER_SOURCE_DEFAULT;
      return own.value;
    }
    if (fallback.known()) return fallback.value;
    p.defaulted = true;
    return dflt;
  };
  p.read_latency_ns = pick(node.read_latency_ns, node.write_latency_ns, def.read_latency_ns);
  p.write_latency_ns = pick(node.write_latency_ns, node.read_latency_ns, def.write_latency_ns);
  p.read_bandwidth_mbps =
      pick(node.read_bandwidth_mbps, node.write_bandwidth_mbps, def.read_bandwidth_mbps);
  p.write_bandwidth_mbps =
      pick(node.write_bandwidth_mbps, node.read_bandwidth_mbps, def.write_bandwidth_mbps);
  return p;
}

CostModel make_cost_model(const Topology &topology, MigrationParams migration) {
  std::vector<NodeParams> nodes;
  nodes.reserve(topology.nodes.size());
  for (const auto &n : topology.nodes) nodes.push_back(make_node_params(n));
  return CostModel(std::move(nodes), migration);
}

CostModel::CostModel(std::vector<NodeParams> nodes, MigrationParams migration)
    : nodes_(std::move(nodes)), migration_(migration) {}

const NodeParams *CostModel::find(int id) const {
  for (const auto &n : nodes_)
    if (n.id == id) return &n;
  return nullptr;
}

Result<Cost> CostModel::estimate(const std::vector<Access> &accesses,
                                 const EstimateOptions &options) const {
  if (!(options.mlp > 0))
    return make_error(TIER_EINVAL,
                      "cost estimate: mlp must be > 0, got " + std::to_string(options.mlp));
  if (!(options.interval_s >= 0))
    return make_error(TIER_EINVAL, "cost estimate: interval_s must be >= 0, got " +
                                       std::to_string(options.interval_s));
  if (options.line_bytes == 0)
    return make_error(TIER_EINVAL, "cost estimate: line_bytes must be > 0");

  // Aggregate per node, keeping the model's node order so results are stable.
  std::map<int, Access> per_node;
  for (size_t i = 0; i < accesses.size(); ++i) {
    const Access &a = accesses[i];
    if (!find(a.node))
      return make_error(TIER_ENODEV, "cost estimate: access " + std::to_string(i) + " names node " +
                                         std::to_string(a.node) +
                                         ", which the topology does not have");
    Access &s = per_node[a.node];
    s.node = a.node;
    s.random_reads += a.random_reads;
    s.random_writes += a.random_writes;
    s.stream_read_bytes += a.stream_read_bytes;
    s.stream_write_bytes += a.stream_write_bytes;
  }
  std::vector<Demand> demands;
  for (const auto &p : nodes_) {
    auto it = per_node.find(p.id);
    if (it == per_node.end()) continue;
    Demand d;
    d.params = &p;
    d.sum = it->second;
    const double line = options.line_bytes;
    const double rd = static_cast<double>(d.sum.random_reads) * line;
    const double wr = static_cast<double>(d.sum.random_writes) * line;
    d.stream_s = static_cast<double>(d.sum.stream_read_bytes) / (p.read_bandwidth_mbps * kMB) +
                 static_cast<double>(d.sum.stream_write_bytes) / (p.write_bandwidth_mbps * kMB);
    d.busy_s =
        d.stream_s + rd / (p.read_bandwidth_mbps * kMB) + wr / (p.write_bandwidth_mbps * kMB);
    d.bytes = d.sum.stream_read_bytes + d.sum.stream_write_bytes +
              (d.sum.random_reads + d.sum.random_writes) * options.line_bytes;
    demands.push_back(d);
  }

  double interval = options.interval_s;
  if (interval == 0) {
    // Closed loop: T = sum_n cost_n(busy_n / T). The right side falls as T grows and the left
    // rises, so there is one fixed point; it lies between the unloaded time (every factor 1)
    // and the time with every node saturated. Bisection is exact enough and always converges.
    double lo = 0, hi = total_at(demands, 0, options.mlp);  // interval 0 = saturated
    for (const auto &d : demands) lo += cost_at(d, 0, options.mlp).total_s;
    for (int i = 0; i < 100 && hi - lo > 1e-12 * hi; ++i) {
      const double mid = 0.5 * (lo + hi);
      if (total_at(demands, mid, options.mlp) > mid)
        lo = mid;
      else
        hi = mid;
    }
    interval = hi;
  }

  Cost cost;
  for (const auto &d : demands) {
    NodeCost c = cost_at(d, interval > 0 ? d.busy_s / interval : 0.0, options.mlp);
    cost.latency_s += c.latency_s;
    cost.bandwidth_s += c.bandwidth_s;
    cost.total_s += c.total_s;
    cost.nodes.push_back(c);
  }
  return cost;
}

Result<double> CostModel::migration_seconds(int src, int dst, uint64_t bytes,
                                            uint64_t page_bytes) const {
  const NodeParams *s = find(src);
  const NodeParams *d = find(dst);
  if (!s || !d)
    return make_error(TIER_ENODEV, "migration cost: node " + std::to_string(s ? dst : src) +
                                       " is not in the topology");
  if (page_bytes == 0 || (page_bytes & (page_bytes - 1)) != 0)
    return make_error(TIER_EINVAL, "migration cost: page size " + std::to_string(page_bytes) +
                                       " is not a power of two");
  if (src == dst || bytes == 0) return 0.0;
  // A page is read from the source and written to the destination by one kernel thread.
  return policy::move_seconds(s->read_bandwidth_mbps, d->write_bandwidth_mbps, bytes, page_bytes,
                              migration_);
}

policy::NodeState node_state(const Node &node) {
  const NodeParams p = make_node_params(node);
  policy::NodeState s;
  s.id = node.id;
  s.tier = node.tier;
  s.latency_ns = p.read_latency_ns;
  s.bandwidth_mbps = p.read_bandwidth_mbps;
  s.write_bandwidth_mbps = p.write_bandwidth_mbps;
  return s;
}

}  // namespace tier::emu
