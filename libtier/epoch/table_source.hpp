// table_source.hpp - the in-process adapter of the epoch: the chunk table as the chunk source,
// a mover as the sink.
//
// TableSource folds every live chunk's counters (ChunkTable::counts) into its heat fields with
// the heat rule, and shows the policy the chunks on nodes the snapshot knows: chunks not yet
// faulted in, or memory the emulation cannot place, are left out (the engine cannot reason
// about them, and they cannot move). A node holds at least the tracked chunks on it, even
// memory the allocator did not place there. Tags (the policy's per-chunk memory) are kept by
// slot, and forgotten when the slot is reused by another region.
//
// TableMoverSink hands each move to a mover as the whole pages covering the chunk, and records
// the new node and move epoch of every chunk that landed.
//
// Thread-safety: one epoch at a time (the agent's epoch lock, or the caller's). collect() holds
// the table's shared lock for its pass, as every scan does; touches go on concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "epoch/runner.hpp"
#include "heat/chunk_table.hpp"
#include "migrate/mover.hpp"

namespace tier::epoch {

class TableSource final : public ChunkSource {
 public:
  explicit TableSource(heat::ChunkTable *table) : table_(table) {}
  Status collect(heat::HeatClock &clock, policy::Snapshot *snap, Report *report) override;
  void keep_tags(const std::vector<policy::Plan::Tag> &tags) override;

 private:
  struct Tag {
    heat::RegionId region = 0;
    uint8_t tag = 0;
  };
  heat::ChunkTable *table_;
  std::vector<Tag> tags_;                  // by slot
  std::vector<heat::RegionId> region_of_;  // by slot, as of the last collect
};

class TableMoverSink final : public MoveSink {
 public:
  TableMoverSink(heat::ChunkTable *table, migrate::Mover *mover) : table_(table), mover_(mover) {}
  Status apply(const policy::Snapshot &snap, const std::vector<policy::Move> &moves,
               std::vector<bool> *landed, Report *report) override;

 private:
  heat::ChunkTable *table_;
  migrate::Mover *mover_;
};

}  // namespace tier::epoch
