// temperature.cpp - the decay pass over the chunk table and the log2 hot-set histogram.
//
// Thread-safety: see temperature.hpp (one tracker thread; the table's shared lock is held by
// ChunkTable::scan for the pass).
#include "heat/temperature.hpp"

#include <limits>

namespace tier::heat {

Status validate(const TemperatureConfig &config) {
  if (!(config.half_life_epochs > 0) || !std::isfinite(config.half_life_epochs))
    return make_error(TIER_ECONFIG, "heat: half_life_epochs must be a positive number, got " +
                                        std::to_string(config.half_life_epochs));
  return {};
}

double LogHistogram::lower_edge(int b) {
  const int e = (b >> kSubBits) + kMinExp;
  const int sub = b & ((1 << kSubBits) - 1);
  return std::ldexp(1.0 + static_cast<double>(sub) / (1 << kSubBits), e);
}

uint64_t LogHistogram::total() const {
  uint64_t t = 0;
  for (uint64_t w : weight_) t += w;
  return t;
}

double LogHistogram::hot_threshold(uint64_t capacity) const {
  uint64_t cum = 0;
  int lowest = -1;
  for (int b = kBuckets - 1; b >= 0; --b) {
    if (!weight_[b]) continue;
    cum += weight_[b];
    lowest = b;
    if (cum > capacity) return lower_edge(b);
  }
  return lowest < 0 ? std::numeric_limits<double>::infinity() : lower_edge(lowest);
}

double LogHistogram::hot_threshold_within(uint64_t capacity) const {
  uint64_t cum = 0;
  int lowest = -1;
  for (int b = kBuckets - 1; b >= 0; --b) {
    if (!weight_[b]) continue;
    cum += weight_[b];
    if (cum > capacity)
      return lowest < 0 ? std::numeric_limits<double>::infinity() : lower_edge(lowest);
    lowest = b;
  }
  return lowest < 0 ? std::numeric_limits<double>::infinity() : lower_edge(lowest);
}

TemperatureTracker::TemperatureTracker(const TemperatureConfig &config)
    : config_(config), half_life_(config.half_life_epochs), factor_(decay_factor(config)) {}

EpochHeat TemperatureTracker::advance(ChunkTable &table, uint64_t epoch,
                                      std::vector<policy::ChunkInfo> *out) {
  EpochHeat stats;
  stats.epoch = epoch;
  const auto epoch32 = static_cast<uint32_t>(epoch);
  table.scan([&](SlotId slot, Chunk &c, const RegionInfo &r, size_t bytes) {
    const uint64_t now = table.counts(slot);
    // Unsigned 32-bit subtraction gives each delta as long as a chunk sees fewer than 2^32
    // reads (and writes) in one epoch. When the reads half wraps, its carry has added one to
    // the writes half; a reads value below the last one is exactly that case.
    const uint32_t r_now = static_cast<uint32_t>(now), r_seen = static_cast<uint32_t>(c.seen);
    const uint32_t dr = r_now - r_seen;
    const uint32_t dw = static_cast<uint32_t>(now >> 32) - static_cast<uint32_t>(c.seen >> 32) -
                        (r_now < r_seen ? 1u : 0u);
    c.seen = now;
    const uint64_t delta = uint64_t{dr} + dw;
    c.total += delta;
    c.temperature = next_temperature(c.temperature, delta, factor_);
    c.history = (c.history << 1) | (delta ? 1u : 0u);
    if (delta && c.last_access_epoch && config_.adaptive && epoch32 > c.last_access_epoch)
      reuse_.add(epoch32 - c.last_access_epoch);
    if (delta) c.last_access_epoch = epoch32;
    ++stats.chunks;
    stats.active_chunks += delta ? 1 : 0;
    stats.accesses += delta;
    stats.reads += dr;
    stats.writes += dw;
    if (out) {
      policy::ChunkInfo ci;
      ci.id = slot;
      ci.bytes = bytes;
      ci.node = c.node.load(std::memory_order_relaxed);
      ci.group = c.group;
      ci.owner = r.owner;
      ci.pinned = c.pins.load(std::memory_order_relaxed) != 0;
      ci.temperature = c.temperature;
      ci.accesses = static_cast<uint32_t>(std::min<uint64_t>(delta, UINT32_MAX));
      ci.total_accesses = c.total;
      ci.history = c.history;
      ci.last_access_epoch = c.last_access_epoch;
      ci.last_move_epoch = c.last_move_epoch.load(std::memory_order_relaxed);
      out->push_back(ci);
    }
  });
  if (config_.adaptive) {
    half_life_ = adaptive_half_life(config_, reuse_);
    factor_ = std::exp2(-1.0 / half_life_);
  }
  return stats;
}

}  // namespace tier::heat
