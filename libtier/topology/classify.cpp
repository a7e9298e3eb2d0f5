// classify.cpp - decides the kind (hbm, dram, cxl, cxl-pool) of nodes discovery could not name.
//
// The rule (docs/topology.md, "Classification") compares each node with a reference: the
// fastest node that has local CPUs, which on every platform we know of is DRAM (on GH200 the
// LPDDR5X of the Grace CPU). Figures are compared as ratios, because absolute HMAT values
// differ by platform and firmware. Every decision records its source and a reason naming the
// figure or hint that decided it. Pure function; thread-safe on distinct topologies.
#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "topology/classify_rules.hpp"
#include "topology/topology.hpp"

namespace tier {

namespace {

std::string ratio_text(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fx", ratio);
  return buf;
}

// The node other nodes are compared with (see the banner); -1 when there is none.
int reference_index(const Topology &t) {
  int best = -1;
  auto better = [&](const Node &a, const Node &b) {
    // A node already known to be DRAM (a file said so) wins; then lower latency, then
    // higher bandwidth, then the lower id (deterministic).
    bool a_dram = a.kind == TIER_KIND_DRAM, b_dram = b.kind == TIER_KIND_DRAM;
    if (a_dram != b_dram) return a_dram;
    if (a.read_latency_ns.known() && b.read_latency_ns.known() &&
        a.read_latency_ns.value != b.read_latency_ns.value)
      return a.read_latency_ns.value < b.read_latency_ns.value;
    if (a.read_latency_ns.known() != b.read_latency_ns.known()) return a.read_latency_ns.known();
    return a.id < b.id;
  };
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const Node &n = t.nodes[i];
    bool eligible = !n.cpuless() || n.kind == TIER_KIND_DRAM;
    if (n.kind != TIER_KIND_UNKNOWN && n.kind != TIER_KIND_DRAM) eligible = false;
    if (n.hbm_hint) eligible = false;
    if (!eligible) continue;
    if (best < 0 || better(n, t.nodes[best])) best = static_cast<int>(i);
  }
  return best;
}

// Where "has CPUs" came from: the discovery path that found the node.
tier_source discovery_source(const Topology &t) {
  if (t.source.rfind("hwloc", 0) == 0) return TIER_SOURCE_HWLOC;
  if (t.source.rfind("sysfs", 0) == 0) return TIER_SOURCE_SYSFS;
  return TIER_SOURCE_NONE;
}

void decide(Node &n, tier_node_kind kind, tier_source source, std::string reason) {
  n.kind = kind;
  n.kind_source = source;
  n.kind_reason = std::move(reason);
}

}  // namespace

int distance_from_cpus(const Topology &t, size_t index) {
  if (t.distance.size() != t.nodes.size()) return -1;
  int best = -1;
  for (size_t j = 0; j < t.nodes.size(); ++j) {
    if (t.nodes[j].cpuless() || t.distance[j].size() != t.nodes.size()) continue;
    int d = t.distance[j][index];
    if (d > 0 && (best < 0 || d < best)) best = d;
  }
  return best;
}

void classify(Topology &t) {
  const int ref = reference_index(t);
  const Node *r = ref >= 0 ? &t.nodes[ref] : nullptr;
  const double ref_lat = r && r->read_latency_ns.known() ? r->read_latency_ns.value : 0;
  const double ref_bw = r && r->read_bandwidth_mbps.known() ? r->read_bandwidth_mbps.value : 0;
  const int ref_dist = r ? distance_from_cpus(t, ref) : -1;
  const std::string ref_label = r ? "node " + std::to_string(r->id) : "";

  // Kernel memory tiers deeper than the reference's: with two or more such levels among
  // CPU-less nodes, the deepest is taken to be pooled memory behind a switch.
  std::set<int> deeper_tiers;
  if (r && r->memory_tier >= 0)
    for (const Node &n : t.nodes)
      if (n.cpuless() && n.memory_tier > r->memory_tier) deeper_tiers.insert(n.memory_tier);

  for (size_t i = 0; i < t.nodes.size(); ++i) {
    Node &n = t.nodes[i];
    if (n.kind != TIER_KIND_UNKNOWN) continue;
    if (n.hbm_hint) {
      decide(n, TIER_KIND_HBM, TIER_SOURCE_HWLOC, "hwloc subtype HBM/MCDRAM");
      continue;
    }
    if (static_cast<int>(i) == ref) {
      decide(n, TIER_KIND_DRAM,
             n.read_latency_ns.known() ? n.read_latency_ns.source : discovery_source(t),
             n.cpuless() ? "the only DRAM-like node" : "has local CPUs, the fastest such node");
      continue;
    }
    // Bandwidth first: HBM's latency is no better than DRAM's, its bandwidth is what sets it
    // apart, and it is always CPU-less where it is exposed as its own node.
    if (n.cpuless() && ref_bw > 0 && n.read_bandwidth_mbps.known() &&
        n.read_bandwidth_mbps.value >= kHbmBandwidthRatio * ref_bw) {
      decide(n, TIER_KIND_HBM, n.read_bandwidth_mbps.source,
             "CPU-less, read bandwidth " + ratio_text(n.read_bandwidth_mbps.value / ref_bw) +
                 " the DRAM reference (" + ref_label + ")");
      continue;
    }
    if (!n.cpuless()) {
      decide(n, TIER_KIND_DRAM, discovery_source(t), "has local CPUs");
      if (n.read_latency_ns.known()) n.kind_source = n.read_latency_ns.source;
      continue;
    }
    if (ref_lat > 0 && n.read_latency_ns.known()) {
      double ratio = n.read_latency_ns.value / ref_lat;
      std::string why =
          "CPU-less, read latency " + ratio_text(ratio) + " the DRAM reference (" + ref_label + ")";
      if (ratio >= kPoolLatencyRatio)
        decide(n, TIER_KIND_CXL_POOL, n.read_latency_ns.source, why);
      else if (ratio >= kCxlLatencyRatio)
        decide(n, TIER_KIND_CXL, n.read_latency_ns.source, why);
      else
        decide(n, TIER_KIND_DRAM, n.read_latency_ns.source, why);
      continue;
    }
    if (n.memory_tier >= 0 && !deeper_tiers.empty() && deeper_tiers.count(n.memory_tier)) {
      std::string why = "CPU-less, kernel memory_tier" + std::to_string(n.memory_tier) +
                        " below DRAM's memory_tier" + std::to_string(r->memory_tier);
      bool deepest = deeper_tiers.size() >= 2 && n.memory_tier == *deeper_tiers.rbegin();
      decide(n, deepest ? TIER_KIND_CXL_POOL : TIER_KIND_CXL, TIER_SOURCE_SYSFS, why);
      continue;
    }
    if (n.dax_kmem) {
      decide(n, TIER_KIND_CXL, TIER_SOURCE_SYSFS, "CPU-less, memory onlined from a DAX device");
      continue;
    }
    int d = distance_from_cpus(t, i);
    if (d > 0 && ref_dist > 0 && d > ref_dist) {
      decide(n, TIER_KIND_CXL, TIER_SOURCE_DISTANCE,
             "CPU-less, distance " + std::to_string(d) + " vs " + std::to_string(ref_dist));
      continue;
    }
    n.kind_reason = "CPU-less, no figures or hints";
  }
}

}  // namespace tier
