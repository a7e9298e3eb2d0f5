// cost_model.hpp - modelled memory time of a workload on a (virtual or real) topology.
//
// The emulation cannot make a DRAM page slow, so it charges what the page would have cost on
// the node it is placed on. The model has two parts per node over an interval:
//   latency-bound:   (random reads x L_read(u) + random writes x L_write(u)) / MLP
//   bandwidth-bound: streamed read bytes / read bandwidth + streamed write bytes / write bw
// where u is the node's bandwidth utilisation (bytes demanded / (interval x peak)) and L(u) is
// the loaded latency, following the shape of the Mess (MICRO'24) bandwidth-latency curves:
//   L(u) = L0 * (1 + a * u^k / (1 - u)),  u clipped to max_utilisation
// Flat to ~50-60 % utilisation, ~1.5x at 80 %, ~2.6x at 90 %, ~5x at 95 % with the defaults
// (a = 0.25, k = 4, u <= 0.95); docs/emulation.md compares it with published curves.
//
// Migration: bytes / min(src bw, dst bw, copy bw) + pages x per-page overhead, calibrated so
// that move_pages(2) gives ~3.5 GB/s with 4 KiB pages and ~11 GB/s with 2 MiB pages.
//
// Everything here is a pure function of its arguments; a CostModel is an immutable value and
// may be shared between threads.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "policy/snapshot.hpp"
#include "topology/topology.hpp"

namespace tier::emu {

// The loaded-latency curve. Defaults documented in docs/emulation.md.
struct LatencyCurve {
  double a = 0.25;                // steepness of the rise
  double k = 4.0;                 // how long the curve stays flat (higher = flatter, later)
  double max_utilisation = 0.95;  // u is clipped here: queues do not grow without bound
};

// What the model knows of one node. Figures are never 0 after make_node_params().
struct NodeParams {
  int id = -1;
  tier_node_kind kind = TIER_KIND_UNKNOWN;
  double read_latency_ns = 0;
  double write_latency_ns = 0;
  double read_bandwidth_mbps = 0;  // MB/s (10^6 bytes a second)
  double write_bandwidth_mbps = 0;
  bool defaulted = false;  // at least one figure came from the kind's default
  LatencyCurve curve;
};

// Accesses to one node over the interval. Random accesses touch one cache line each and are
// latency-bound; streamed bytes are bandwidth-bound (prefetchers hide their latency).
struct Access {
  int node = -1;
  uint64_t random_reads = 0;
  uint64_t random_writes = 0;
  uint64_t stream_read_bytes = 0;
  uint64_t stream_write_bytes = 0;
};

struct EstimateOptions {
  // Length of the interval the accesses happened in (s). 0 = closed loop: the workload runs
  // back to back, so its own modelled time is the interval (solved as a fixed point).
  double interval_s = 0;
  // Memory-level parallelism: independent misses in flight. 1 = pointer chasing; an
  // out-of-order core sustains ~10 (its line fill buffers), so 8 is the default.
  double mlp = 8;
  uint32_t line_bytes = 64;  // bytes a random access moves
};

struct NodeCost {
  int node = -1;
  double utilisation = 0;  // after clipping
  double loaded_read_latency_ns = 0;
  double loaded_write_latency_ns = 0;
  double latency_s = 0;    // latency-bound part
  double bandwidth_s = 0;  // bandwidth-bound part
  double total_s = 0;
  uint64_t bytes = 0;  // bytes moved to/from the node (lines + streamed)
};

struct Cost {
  std::vector<NodeCost> nodes;  // one per node that had accesses, in the model's node order
  double latency_s = 0;         // sums: one thread's memory time is the sum over nodes
  double bandwidth_s = 0;
  double total_s = 0;
};

// One kernel thread copying pages (calibrated), and per page: unmap, TLB shootdown, remap,
// page-table walk. The placement engine plans with the same figures (policy/move_cost.hpp).
using MigrationParams = policy::MoveCosts;

class CostModel {
 public:
  CostModel() = default;
  explicit CostModel(std::vector<NodeParams> nodes, MigrationParams migration = {});

  const std::vector<NodeParams> &nodes() const { return nodes_; }
  const NodeParams *find(int id) const;
  const MigrationParams &migration() const { return migration_; }

  // Modelled time of `accesses` (several entries for one node are summed). Errors: an
  // unknown node, or options out of range (mlp <= 0, interval < 0, line_bytes 0).
  Result<Cost> estimate(const std::vector<Access> &accesses,
                        const EstimateOptions &options = {}) const;

  // Seconds to move `bytes` from node `src` to node `dst` in pages of `page_bytes`.
  Result<double> migration_seconds(int src, int dst, uint64_t bytes,
                                   uint64_t page_bytes = 4096) const;

 private:
  std::vector<NodeParams> nodes_;
  MigrationParams migration_;
};

// The per-kind figures (topology/kind_defaults.hpp) used where a node's own is unknown.
NodeParams kind_defaults(tier_node_kind kind);
// A node's parameters: its known figures, the kind's defaults for the rest, write figures
// falling back to the read ones before the kind defaults.
NodeParams make_node_params(const Node &node);
CostModel make_cost_model(const Topology &topology, MigrationParams migration = {});

// A node's figures for the placement engine's snapshot (id and tier too; capacity, use and
// watermarks are the caller's): the topology's own, or the kind's defaults where unknown, so
// the cost-aware policy can price every move (make_node_params()).
policy::NodeState node_state(const Node &node);

// L(u) / L0 for the curve; u is clipped to [0, max_utilisation].
double latency_factor(const LatencyCurve &curve, double utilisation);

}  // namespace tier::emu
