// table_source.cpp - the chunk table as the epoch's source, a mover as its sink
// (see table_source.hpp).
#include "epoch/table_source.hpp"

#include <algorithm>

#include "prim/os.hpp"

namespace tier::epoch {

Status TableSource::collect(heat::HeatClock &clock, policy::Snapshot *snap, Report *report) {
  std::vector<uint64_t> tracked(snap->nodes.size(), 0);
  table_->scan([&](heat::SlotId slot, heat::Chunk &c, const heat::RegionInfo &r, size_t bytes) {
    const uint64_t now = table_->counts(slot);
    const heat::CounterDelta d = heat::counter_delta(now, c.seen);
    c.seen = now;
    clock.fold(c, d.total());
    report->accesses += d.total();
    report->reads += d.reads;
    report->writes += d.writes;
    ++report->chunks;
    report->active_chunks += d.total() ? 1 : 0;
    if (slot >= region_of_.size()) region_of_.resize(slot + 1, 0);
    region_of_[slot] = r.id;
    const int32_t node = c.node.load(std::memory_order_relaxed);
    for (size_t n = 0; n < snap->nodes.size(); ++n) {
      if (snap->nodes[n].id != node) continue;
      policy::ChunkInfo ci;
      ci.id = slot;
      ci.bytes = bytes;
      ci.node = node;
      ci.group = c.group;
      ci.owner = r.owner;
      ci.pinned = c.pins.load(std::memory_order_relaxed) != 0;
      ci.policy_tag = slot < tags_.size() && tags_[slot].region == r.id ? tags_[slot].tag : 0;
      ci.temperature = c.temperature;
      ci.accesses = static_cast<uint32_t>(std::min<uint64_t>(d.total(), UINT32_MAX));
      ci.total_accesses = c.total;
      ci.history = c.history;
      ci.last_access_epoch = c.last_access_epoch;
      ci.last_move_epoch = c.last_move_epoch.load(std::memory_order_relaxed);
      snap->chunks.push_back(ci);
      tracked[n] += bytes;
      break;
    }
  });
  for (size_t n = 0; n < snap->nodes.size(); ++n)
    snap->nodes[n].used = std::max(snap->nodes[n].used, tracked[n]);
  return {};
}

void TableSource::keep_tags(const std::vector<policy::Plan::Tag> &tags) {
  for (const policy::Plan::Tag &t : tags) {
    if (t.chunk >= region_of_.size()) continue;
    if (t.chunk >= tags_.size()) tags_.resize(t.chunk + 1);
    tags_[t.chunk] = Tag{region_of_[t.chunk], t.tag};
  }
}

Status TableMoverSink::apply(const policy::Snapshot &snap, const std::vector<policy::Move> &moves,
                             std::vector<bool> *landed, Report *report) {
  std::vector<migrate::MoveRange> ranges;
  ranges.reserve(moves.size());
  for (const policy::Move &m : moves) {
    Result<heat::ChunkTable::Span> span = table_->chunk_span(static_cast<heat::SlotId>(m.chunk));
    // An unknown span stays empty and is reported failed by the mover.
    migrate::MoveRange r =
        span ? migrate::page_cover(span->addr, span->bytes, prim::kPageSize) : migrate::MoveRange{};
    r.from = m.from, r.to = m.to, r.chunk = m.chunk;
    ranges.push_back(r);
  }
  if (Status s = mover_->move(ranges, &report->outcomes, &report->mover); !s) return s;
  for (size_t i = 0; i < moves.size(); ++i) {
    const migrate::Outcome o = report->outcomes[i].outcome;
    if (o == migrate::Outcome::kRefused) ++report->moves_refused;
    if (!migrate::landed(o)) continue;
    table_->record_move(static_cast<heat::SlotId>(moves[i].chunk), moves[i].to, snap.epoch);
    (*landed)[i] = true;
  }
  return {};
}

}  // namespace tier::epoch
