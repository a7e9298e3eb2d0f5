// kind_defaults.cpp - default figures per kind (see kind_defaults.hpp). Thread-safe.
//
// Figures follow DESIGN.md "Physical figures": DDR5-4800 ~100 ns and ~300 GB/s a socket;
// HBM2e ~1 TB/s a socket at a latency a little above DRAM's; a CXL x16 expander ~250 ns and
// ~64 GB/s a direction; CXL behind a switch or pool ~350 ns, and we assume an x8 link there
// (~32 GB/s). Writes are taken to be as fast as reads: published write figures vary too much
// by platform to do better without a measurement.
#include "topology/kind_defaults.hpp"

namespace tier {

KindDefaults kind_defaults(tier_node_kind kind) {
  switch (kind) {
    case TIER_KIND_HBM:
      return {130, 130, 1000000, 1000000};
    case TIER_KIND_DRAM:
      return {100, 100, 300000, 300000};
    case TIER_KIND_CXL:
      return {250, 250, 64000, 64000};
    case TIER_KIND_CXL_POOL:
      return {350, 350, 32000, 32000};
    case TIER_KIND_UNKNOWN:
      break;
  }
  return {0, 0, 0, 0};
}

void apply_kind_defaults(Node &node) {
  const KindDefaults d = kind_defaults(node.kind);
  auto fill = [](Figure &f, double v) {
    if (!f.known() && v > 0) f = Figure{v, TIER_SOURCE_DEFAULT};
  };
  fill(node.read_latency_ns, d.read_latency_ns);
  fill(node.write_latency_ns, d.write_latency_ns);
  fill(node.read_bandwidth_mbps, d.read_bandwidth_mbps);
  fill(node.write_bandwidth_mbps, d.write_bandwidth_mbps);
}

}  // namespace tier
