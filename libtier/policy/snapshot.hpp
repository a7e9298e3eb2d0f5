// snapshot.hpp - the placement engine's input (a heat snapshot) and output (a move plan).
//
// These are plain values: the agent or tierd fills a Snapshot from the chunk table, the
// temperature tracker and the allocator's node accounting, hands it to a policy, and gives
// the resulting Plan to a mover. Nothing here refers to live memory, so the same snapshot can
// be replayed in tests, in the trace-replay benchmark and in the simulator. Value types; no
// shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tier::policy {

// One chunk (2 MiB by default) as the engine sees it.
struct ChunkInfo {
  uint64_t id = 0;                 // stable chunk id (the chunk table's slot); unique in a snapshot
  uint64_t bytes = 0;              // bytes of the chunk (the last chunk of a region may be short)
  int32_t node = -1;               // node the chunk is on now
  uint32_t group = 0;              // object group (KV block, expert); 0 = the chunk moves alone
  uint32_t owner = 0;              // owning process / client; moves never cross owners' data
  bool pinned = false;             // never moved (e.g. a KV block the current step computes on)
  uint8_t policy_tag = 0;          // a policy's own per-chunk mark, carried between epochs by
                                   // the heat layer (ARC's ghost lists); 0 = none
  float temperature = 0;           // decayed accesses (see heat/temperature.hpp)
  uint32_t accesses = 0;           // accesses this epoch (reads + writes)
  uint64_t total_accesses = 0;     // accesses since the chunk was registered
  uint32_t history = 0;            // bit i set = accessed i epochs ago (bit 0 = this epoch)
  uint64_t last_access_epoch = 0;  // 0 = never accessed
  uint64_t last_move_epoch = 0;    // 0 = never moved
};

// One memory node. Watermarks are free-byte thresholds, as in the kernel: below `wm_low`
// free bytes a node is under pressure and policies that honour watermarks demote until
// `wm_high` bytes are free again. `wm_high` is also the headroom the `heat` policy keeps free
// for new allocations in every tier but the last.
struct NodeState {
  int32_t id = -1;
  int32_t tier = 0;       // rank, 0 = fastest
  uint64_t capacity = 0;  // bytes Tier may place on the node
  uint64_t used = 0;      // bytes placed there now (tracked chunks and anything else)
  uint64_t wm_low = 0;
  uint64_t wm_high = 0;
  double latency_ns = 0;            // read latency, 0 = unknown (informational for now)
  double bandwidth_mbps = 0;        // read bandwidth (MB/s), 0 = unknown
  double write_bandwidth_mbps = 0;  // write bandwidth (MB/s), 0 = the read figure

  uint64_t free_bytes() const { return used >= capacity ? 0 : capacity - used; }
};

// What moving a chunk costs besides the two nodes' bandwidths: one kernel thread copies pages
// (move_pages(2), or the emulated mover's copy) at `copy_bandwidth_mbps` and pays
// `per_page_overhead_ns` per page for unmap, TLB shootdown and remap. The defaults are the
// calibration of the emulation's cost model (docs/emulation.md: ~11 GB/s with 2 MiB pages,
// ~3.5 GB/s with 4 KiB pages on a two-socket server), which uses this same struct.
struct MoveCosts {
  double copy_bandwidth_mbps = 11050;
  double per_page_overhead_ns = 800;
  uint64_t page_bytes = 2u << 20;  // pages moves are made in (THP-sized chunks)
};

struct Snapshot {
  uint64_t epoch = 0;                  // current epoch, > 0
  uint64_t budget_bytes = UINT64_MAX;  // migration byte budget for this epoch
  std::vector<NodeState> nodes;        // any order; the engine orders by (tier, id)
  std::vector<ChunkInfo> chunks;  // chunks of one group must be adjacent (the table emits them so)
  // A policy's scalar memory (ARC's adaptive target), carried from the previous Plan's
  // `policy_state`; 0 on the first epoch. Policies that need none ignore it.
  double policy_state = 0;
  MoveCosts move;  // what a move costs (move_cost.hpp)
};

enum class Reason : uint8_t {
  kPromote = 0,   // moves to a faster tier because it is hot
  kDemote = 1,    // makes room in a faster tier for a hotter object
  kPressure = 2,  // a node fell below its low watermark (or over capacity)
};
const char *reason_name(Reason reason);

struct Move {
  uint64_t chunk = 0;  // ChunkInfo::id
  int32_t from = -1;
  int32_t to = -1;
  uint64_t bytes = 0;
  Reason reason = Reason::kPromote;
  uint32_t group = 0;  // the object group the chunk moves with (0 = alone)

  bool operator==(const Move &) const = default;
};

// An ordered move list: a mover carries moves out in this order, so the demotions that make
// room in a node come before the promotions into it. The sum of `bytes` never exceeds the
// snapshot's budget, and applying the moves in order never takes a node over its capacity.
struct Plan {
  std::vector<Move> moves;
  uint64_t bytes = 0;     // total bytes of the moves
  uint64_t promoted = 0;  // bytes moved by kPromote
  uint64_t demoted = 0;   // bytes moved by kDemote or kPressure
  // What the policy wants remembered until the next epoch: new per-chunk tags (applied by the
  // heat layer to ChunkInfo::policy_tag) and the next Snapshot::policy_state. A caller that
  // does not carry them gives the policy a fresh memory each epoch (it must stay correct).
  struct Tag {
    uint64_t chunk = 0;
    uint8_t tag = 0;
    bool operator==(const Tag &) const = default;
  };
  std::vector<Tag> tags;
  double policy_state = 0;

  bool operator==(const Plan &) const = default;
};

// A short text description of a plan ("3 moves, 6.0 MiB: promote 2 (4.0 MiB) ...") for logs.
std::string describe(const Plan &plan);

}  // namespace tier::policy
