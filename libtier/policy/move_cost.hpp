// move_cost.hpp - the time a placement move costs and the time an access saves, from the
// nodes' bandwidth figures and the MoveCosts of a snapshot. The emulation's cost model charges
// migrations with the same function (emu/cost_model.cpp), so what a policy expects a move to
// cost is what the replay and the emulated mover charge for it.
//
// Model: an access to a chunk streams the chunk (the API reports object reads: a KV block read
// by a decode step, an expert's weights by a batched MoE layer), so it costs bytes / read
// bandwidth; the node's latency, 100-400 ns, is under 0.1 % of streaming a 2 MiB chunk and is
// left out. A move reads the source and writes the destination through one copying thread:
// bytes / min(source read bw, destination write bw, copy bw) + pages x per-page overhead.
//
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "policy/snapshot.hpp"

namespace tier::policy {

// Seconds to move `bytes` between nodes with these read/write bandwidths (MB/s, > 0).
inline double move_seconds(double src_read_mbps, double dst_write_mbps, uint64_t bytes,
                           uint64_t page_bytes, const MoveCosts &costs) {
  if (bytes == 0) return 0;
  const double bw = std::min({src_read_mbps, dst_write_mbps, costs.copy_bandwidth_mbps}) * 1e6;
  const uint64_t pages = page_bytes ? (bytes + page_bytes - 1) / page_bytes : 0;
  return static_cast<double>(bytes) / bw +
         static_cast<double>(pages) * costs.per_page_overhead_ns * 1e-9;
}

inline double write_mbps(const NodeState &n) {
  return n.write_bandwidth_mbps > 0 ? n.write_bandwidth_mbps : n.bandwidth_mbps;
}

// Seconds per byte that one access saves when data on `from` is served from `to` instead
// (<= 0 when `to` is not faster, or a figure is unknown).
inline double access_saving_per_byte(const NodeState &from, const NodeState &to) {
  if (!(from.bandwidth_mbps > 0) || !(to.bandwidth_mbps > 0)) return 0;
  return 1.0 / (from.bandwidth_mbps * 1e6) - 1.0 / (to.bandwidth_mbps * 1e6);
}

// Seconds per byte of a round trip from -> to -> from (a promotion and the demotion that will
// one day make room again), in the snapshot's pages; INFINITY when a figure is unknown.
inline double round_trip_per_byte(const NodeState &from, const NodeState &to,
                                  const MoveCosts &costs) {
  if (!(from.bandwidth_mbps > 0) || !(to.bandwidth_mbps > 0)) return INFINITY;
  const uint64_t page = std::max<uint64_t>(costs.page_bytes, 4096);
  const double up = move_seconds(from.bandwidth_mbps, write_mbps(to), page, page, costs);
  const double down = move_seconds(to.bandwidth_mbps, write_mbps(from), page, page, costs);
  return (up + down) / static_cast<double>(page);
}

// Accesses per chunk a unit must be expected to receive on `to` before moving it there from
// `from` repays the round trip: the break-even the cost-aware policy holds promotions and
// evictions to. INFINITY when the move can never pay (not faster, figures unknown).
inline double break_even_accesses(const NodeState &from, const NodeState &to,
                                  const MoveCosts &costs) {
  const double saving = access_saving_per_byte(from, to);
  return saving > 0 ? round_trip_per_byte(from, to, costs) / saving : INFINITY;
}

}  // namespace tier::policy
