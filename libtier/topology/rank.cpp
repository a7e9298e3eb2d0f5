// rank.cpp - orders nodes into tiers, fastest first.
//
// Rule (docs/topology.md, "Ranking"):
//  1. HBM nodes rank above all others: their latency is no better than DRAM's, but their
//     bandwidth is what a "fast tier" is for.
//  2. When every node has a read latency (HMAT, a file, or kind defaults), nodes are sorted by
//     it within each of those two bands, and a node starts a new tier when its latency is more
//     than 15% above the first (fastest) node of the current tier, so that two sockets' DRAM
//     with slightly different HMAT values share a tier.
//  3. Otherwise the kind orders them (hbm, dram, cxl, cxl-pool, unknown), then the NUMA
//     distance from the nearest node with CPUs; equal kind and distance share a tier.
// Ties are broken by higher bandwidth, then by id, so the result is deterministic. Nodes end
// up in Topology::nodes ordered by (tier, id), and the distance matrix is permuted to match.
// Pure function; thread-safe on distinct topologies.
#include <algorithm>
#include <numeric>

#include "topology/classify_rules.hpp"
#include "topology/topology.hpp"

namespace tier {

namespace {

int kind_order(tier_node_kind kind) {
  switch (kind) {
    case TIER_KIND_HBM:
      return 0;
    case TIER_KIND_DRAM:
      return 1;
    case TIER_KIND_CXL:
      return 2;
    case TIER_KIND_CXL_POOL:
      return 3;
    case TIER_KIND_UNKNOWN:
      break;
  }
  return 4;
}

int band(const Node &n) {
  return n.kind == TIER_KIND_HBM ? 0 : 1;
}

}  // namespace

void rank_tiers(Topology &t) {
  const size_t count = t.nodes.size();
  if (count == 0) return;
  const bool by_latency = std::all_of(t.nodes.begin(), t.nodes.end(),
                                      [](const Node &n) { return n.read_latency_ns.known(); });

  std::vector<int> dist(count);
  for (size_t i = 0; i < count; ++i) {
    int d = distance_from_cpus(t, i);
    dist[i] = d > 0 ? d : 1 << 20;  // unknown distance sorts last within its kind
  }

  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Node &x = t.nodes[a], &y = t.nodes[b];
    if (by_latency) {
      if (band(x) != band(y)) return band(x) < band(y);
      if (x.read_latency_ns.value != y.read_latency_ns.value)
        return x.read_latency_ns.value < y.read_latency_ns.value;
    } else {
      if (kind_order(x.kind) != kind_order(y.kind)) return kind_order(x.kind) < kind_order(y.kind);
      if (dist[a] != dist[b]) return dist[a] < dist[b];
    }
    if (x.read_bandwidth_mbps.value != y.read_bandwidth_mbps.value)
      return x.read_bandwidth_mbps.value > y.read_bandwidth_mbps.value;
    return x.id < y.id;
  });

  // Walk the sorted nodes and open a new tier where the rule says so.
  int tier = 0;
  size_t leader = order[0];
  for (size_t k = 0; k < count; ++k) {
    const size_t i = order[k];
    const Node &n = t.nodes[i], &l = t.nodes[leader];
    bool new_tier = false;
    if (k > 0) {
      if (by_latency)
        new_tier = band(n) != band(l) ||
                   n.read_latency_ns.value > l.read_latency_ns.value * (1 + kTierLatencyTolerance);
      else
        new_tier = n.kind != l.kind || dist[i] != dist[leader];
    }
    if (new_tier) {
      ++tier;
      leader = i;
    }
    t.nodes[i].tier = tier;
  }

  // Final order: (tier, id); permute the distance matrix along.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (t.nodes[a].tier != t.nodes[b].tier) return t.nodes[a].tier < t.nodes[b].tier;
    return t.nodes[a].id < t.nodes[b].id;
  });
  std::vector<Node> nodes;
  nodes.reserve(count);
  for (size_t i : order) nodes.push_back(std::move(t.nodes[i]));
  if (t.distance.size() == count) {
    std::vector<std::vector<int>> d(count, std::vector<int>(count, 0));
    for (size_t a = 0; a < count; ++a)
      for (size_t b = 0; b < count; ++b)
        if (t.distance[order[a]].size() == count) d[a][b] = t.distance[order[a]][order[b]];
    t.distance = std::move(d);
  }
  t.nodes = std::move(nodes);
}

}  // namespace tier
