// kind_defaults.hpp - documented default figures per node kind, used when a topology file
// leaves a figure out (source TIER_SOURCE_DEFAULT). Sources: docs/topology-file.md.
#pragma once

#include "topology/topology.hpp"

namespace tier {

struct KindDefaults {
  double read_latency_ns, write_latency_ns;
  double read_bandwidth_mbps, write_bandwidth_mbps;
};

// Defaults for `kind`; all zero for TIER_KIND_UNKNOWN.
KindDefaults kind_defaults(tier_node_kind kind);

// Fills every unknown figure of `node` from its kind's defaults (source DEFAULT).
void apply_kind_defaults(Node &node);

}  // namespace tier
