// temperature.hpp - access heat per epoch: deltas, exponential decay, and a log2 histogram.
//
// Each epoch the heat rule (heat/rule.hpp) takes every unit's accesses since the previous
// epoch and folds them into a decaying temperature:
//     T(e) = T(e-1) * 2^(-1/half_life) + accesses during e
// so an access counts half as much `half_life` epochs later. A steady rate r settles at
// r / (1 - 2^(-1/half_life)). Decay keeps the ranking responsive to shifts without losing
// memory of steady heat, as MEMTIS's periodic cooling does.
//
// LogHistogram buckets values on a log2 scale with a few sub-buckets per octave and weighs
// them by bytes; hot_threshold(capacity) is the temperature from which the hottest bytes fill
// a capacity, as MEMTIS sizes its hot set to the fast tier. It lets the engine find the hot
// set in O(n) without sorting a million chunks.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/result.hpp"
#include "heat/reuse.hpp"

namespace tier::heat {

struct TemperatureConfig {
  double half_life_epochs = 4.0;  // > 0; how many epochs until an access weighs half
  // When true, the half-life follows the workload's measured median reuse interval
  // (heat/reuse.hpp) once there are samples; `half_life_epochs` is the start value.
  bool adaptive = false;
};

// Validates a configuration (TIER_ECONFIG naming the field otherwise).
Status validate(const TemperatureConfig &config);

// The half-life an adaptive configuration takes from a reuse estimate: the median interval,
// never below one epoch; the configured value until there is a sample.
inline double adaptive_half_life(const TemperatureConfig &config, const ReuseEstimator &reuse) {
  if (!config.adaptive || reuse.samples() == 0) return config.half_life_epochs;
  return std::max(1.0, reuse.median());
}

// 2^(-1/half_life): the factor a temperature is multiplied by each epoch.
inline double decay_factor(const TemperatureConfig &config) {
  return std::exp2(-1.0 / config.half_life_epochs);
}

// One epoch of decay for a chunk that saw `delta` accesses.
inline float next_temperature(float temperature, uint64_t delta, double factor) {
  const double t = temperature * factor + static_cast<double>(delta);
  // Flush the long tail of an idle chunk to exactly zero: zero means "no heat", which the
  // engine treats as never worth promoting.
  return t < 1e-3 ? 0.0f : static_cast<float>(t);
}

class LogHistogram {
 public:
  static constexpr int kSubBits = 2;   // 4 buckets per octave (~19% wide)
  static constexpr int kMinExp = -20;  // values below 2^-20 count as zero
  static constexpr int kMaxExp = 44;   // values above 2^44 land in the top bucket
  static constexpr int kBuckets = (kMaxExp - kMinExp) << kSubBits;

  void clear() { weight_.fill(0), zero_ = 0; }
  void add(double value, uint64_t bytes) {
    const int b = bucket(value);
    if (b < 0)
      zero_ += bytes;
    else
      weight_[b] += bytes;
  }
  uint64_t total() const;  // bytes added with a value above zero
  uint64_t zero_bytes() const { return zero_; }

  // The bucket of a value, -1 for zero (or tiny) values. Inline: the engine calls it once per
  // unit per epoch.
  static int bucket(double value) {
    if (!(value > 0)) return -1;
    // Straight from the IEEE-754 bits: the exponent, and the top kSubBits of the mantissa pick
    // the sub-bucket (frexp is a libm call).
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    const int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;  // value in [2^e, 2^(e+1))
    if (e < kMinExp) return -1;
    if (e >= kMaxExp) return kBuckets - 1;
    const int sub = static_cast<int>((bits >> (52 - kSubBits)) & ((1u << kSubBits) - 1));
    return ((e - kMinExp) << kSubBits) + sub;
  }
  // The smallest value that falls in bucket b.
  static double lower_edge(int b);

  // The threshold the hot set starts at when the hottest bytes fill `capacity`: the lower
  // edge of the bucket in which the cumulative bytes (hottest first) first exceed `capacity`,
  // so every value at or above it is in the hot set. The boundary bucket is included whole;
  // callers stop filling at capacity, and this keeps a run of equally hot chunks from being
  // excluded as a block. When everything fits, the smallest positive value (lower edge of
  // the lowest non-empty bucket); +inf when nothing is hot.
  double hot_threshold(uint64_t capacity) const;
  // The same with the boundary bucket left out, so the bytes at or above it never exceed
  // `capacity` (for reporting a hot set that fits; +inf when even the top bucket does not).
  double hot_threshold_within(uint64_t capacity) const;

 private:
  std::array<uint64_t, kBuckets> weight_{};
  uint64_t zero_ = 0;
};

}  // namespace tier::heat
