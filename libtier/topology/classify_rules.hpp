// classify_rules.hpp - the thresholds of the classification and ranking rules, in one place
// so docs/topology.md, classify.cpp and rank.cpp agree.
#pragma once

#include <cstddef>

namespace tier {

struct Topology;

// CPU-less node with read bandwidth >= this x the DRAM reference's: HBM.
inline constexpr double kHbmBandwidthRatio = 2.0;
// CPU-less node with read latency >= this x the reference's: CXL expander ...
inline constexpr double kCxlLatencyRatio = 1.6;
// ... and >= this x: pooled / switched CXL memory.
inline constexpr double kPoolLatencyRatio = 3.0;
// Nodes whose read latencies are within this fraction of a tier's fastest share the tier.
inline constexpr double kTierLatencyTolerance = 0.15;

// Smallest NUMA distance from any node with CPUs to nodes[index]; -1 when unknown.
int distance_from_cpus(const Topology &topology, size_t index);

}  // namespace tier
