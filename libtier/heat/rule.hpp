// rule.hpp - the one rule that turns access counters into heat, for every chunk source.
//
// The in-process agent (chunk table), tierd (each client's shared table) and tier-replay
// (trace objects) all keep the same per-unit heat fields and fold an epoch's accesses into
// them here, so a unit that sees the same accesses has the same heat whichever engine reads
// it:
//     temperature(e) = temperature(e-1) * 2^(-1/half_life) + accesses during e
//     history        = history << 1 | accessed,   total += accesses,   last access = e
// and, with TemperatureConfig::adaptive, every re-access is one sample of the reuse interval
// (heat/reuse.hpp) from which the half-life of the next epoch is set.
//
// Counters are cumulative, reads in the low 32 bits and writes in the high 32 (the chunk
// table's and the shared table's layout); counter_delta() takes an epoch's delta from them.
//
// Eager sources fold every unit every epoch (fold()). tier-replay visits a unit only when it
// shows it to the policy, and folds the epochs it missed at once (fold_after()): the decay of
// missed epochs is the product of their factors, exactly the eager sequence when at most
// kExactCatchUp epochs were missed, their closed form (equal to float rounding) beyond.
//
// Thread-safety: a HeatClock belongs to one epoch loop (one thread at a time).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "heat/reuse.hpp"
#include "heat/temperature.hpp"

namespace tier::heat {

struct CounterDelta {
  uint32_t reads = 0;
  uint32_t writes = 0;
  uint64_t total() const { return uint64_t{reads} + writes; }
};

// The accesses between two readings of a cumulative counter. Unsigned 32-bit subtraction gives
// each half's delta as long as a unit sees fewer than 2^32 reads (and writes) in one epoch.
// When the reads half wraps, its carry has added one to the writes half; a reads value below
// the last one is exactly that case.
inline CounterDelta counter_delta(uint64_t now, uint64_t seen) {
  const auto r_now = static_cast<uint32_t>(now), r_seen = static_cast<uint32_t>(seen);
  CounterDelta d;
  d.reads = r_now - r_seen;
  d.writes = static_cast<uint32_t>(now >> 32) - static_cast<uint32_t>(seen >> 32) -
             (r_now < r_seen ? 1u : 0u);
  return d;
}

class HeatClock {
 public:
  // Epochs a lazy catch-up replays one by one (the eager sequence, bit for bit).
  static constexpr uint64_t kExactCatchUp = 64;

  explicit HeatClock(const TemperatureConfig &config = {})
      : config_(config), half_life_(config.half_life_epochs), factor_(decay_factor(config)) {}

  const TemperatureConfig &config() const { return config_; }
  uint64_t epoch() const { return epoch_; }
  double half_life() const { return half_life_; }  // of the current epoch
  double factor() const { return factor_; }        // 2^(-1/half_life)
  const ReuseEstimator &reuse() const { return reuse_; }

  // Starts epoch `epoch` (> the previous one): its decay factor is the one the last end()
  // chose. Epochs skipped by the caller decay at that factor too.
  void begin(uint64_t epoch) {
    const uint64_t skipped = epoch > epoch_ ? epoch - epoch_ : 0;
    log2_decay_ += -static_cast<double>(skipped) / half_life_;
    if (skipped > kExactCatchUp) factors_.clear();  // the kept factors stay contiguous
    factors_.insert(factors_.end(), std::min(skipped, kExactCatchUp), factor_);
    epoch_ = std::max(epoch_, epoch);
    if (factors_.size() > 2 * kExactCatchUp)  // keep the tail a catch-up can need
      factors_.erase(factors_.begin(), factors_.end() - static_cast<long>(kExactCatchUp));
    first_factor_epoch_ = epoch_ + 1 - factors_.size();
  }
  // Ends the epoch: an adaptive configuration takes the next half-life from the reuse samples.
  void end() {
    if (!config_.adaptive) return;
    half_life_ = adaptive_half_life(config_, reuse_);
    factor_ = std::exp2(-1.0 / half_life_);
  }

  // Folds this epoch's `delta` accesses into a unit visited every epoch. `H` has the fields
  // temperature (float), total (uint64_t), history (uint32_t) and last_access_epoch.
  template <class H>
  void fold(H &h, uint64_t delta) {
    h.temperature = next_temperature(h.temperature, delta, factor_);
    h.history = (h.history << 1) | (delta ? 1u : 0u);
    note_access(h, delta);
  }

  // Where a lazily visited unit was last folded (tier-replay's objects).
  struct Mark {
    uint64_t epoch = 0;     // 0 = never folded: a new unit
    double log2_decay = 0;  // the clock's cumulative log2 decay at that fold
  };
  // The same for a unit last folded at `*mark`, which is set to this epoch. The epochs it
  // missed saw no access.
  template <class H>
  void fold_after(H &h, uint64_t delta, Mark *mark) {
    if (mark->epoch == epoch_) {  // folded already this epoch: only the new accesses add
      h.temperature += static_cast<float>(delta);
      h.history |= delta ? 1u : 0u;
      note_access(h, delta);
      return;
    }
    const uint64_t missed = mark->epoch && epoch_ > mark->epoch ? epoch_ - mark->epoch : 1;
    const double mark_decay = mark->log2_decay;
    mark->epoch = epoch_;
    mark->log2_decay = log2_decay_;
    if (missed == 1) return fold(h, delta);
    float t = h.temperature;
    if (missed <= kExactCatchUp && epoch_ - missed + 1 >= first_factor_epoch_) {
      for (uint64_t e = epoch_ - missed + 1; e < epoch_; ++e)
        t = next_temperature(t, 0, factor_of(e));
    } else {
      // Decay of the missed epochs: everything up to the previous epoch since the mark.
      const double d =
          static_cast<double>(t) * std::exp2(log2_decay_ + 1.0 / half_life_ - mark_decay);
      t = d < 1e-3 ? 0.0f : static_cast<float>(d);
    }
    h.temperature = next_temperature(t, delta, factor_);
    h.history = missed >= 32 ? (delta ? 1u : 0u) : (h.history << missed) | (delta ? 1u : 0u);
    note_access(h, delta);
  }

 private:
  template <class H>
  void note_access(H &h, uint64_t delta) {
    h.total += delta;
    if (!delta) return;
    const auto now = static_cast<decltype(h.last_access_epoch)>(epoch_);
    if (config_.adaptive && h.last_access_epoch && now > h.last_access_epoch)
      reuse_.add(static_cast<uint64_t>(now - h.last_access_epoch));
    h.last_access_epoch = now;
  }
  double factor_of(uint64_t e) const { return factors_[e - first_factor_epoch_]; }

  TemperatureConfig config_;
  double half_life_;
  double factor_;
  ReuseEstimator reuse_;
  uint64_t epoch_ = 0;
  double log2_decay_ = 0;
  std::vector<double> factors_;      // the factor of each kept epoch
  uint64_t first_factor_epoch_ = 1;  // epoch of factors_[0]
};

}  // namespace tier::heat
