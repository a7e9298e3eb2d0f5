// reuse.hpp - the workload's typical reuse interval, measured online.
//
// How long should an access keep counting? A fixed half-life suits a workload whose reuse
// happens on that time scale and no other. Conversational KV caches reuse a block when the
// next turn of its conversation arrives (user think time plus generation, minutes), a decode
// loop reuses its blocks every step, and MoE experts are reused every layer pass. Instead of
// guessing, the heat layer measures it: whenever a chunk is accessed again, the epochs since its
// previous access are one sample of the reuse interval. The estimator keeps a log2 histogram of
// these samples (4 buckets per octave), each weighted by its length, halved whenever it holds
// `window` samples so that it follows shifts, and reports their weighted median: the interval
// below which half of the time spent waiting for reuses lies. With `TemperatureConfig::adaptive`,
// the tracker sets its half-life to that median: an access then weighs half after one typical reuse
// interval, which is what makes decayed heat compare a block seen often long ago with one seen
// once just now on the workload's own clock (LRFU with a self-set time constant).
//
// Thread-safety: a plain value, used by the tracker's thread.
#pragma once

#include <array>
#include <cstdint>

namespace tier::heat {

class ReuseEstimator {
 public:
  static constexpr int kSubBits = 2;
  static constexpr int kOctaves = 40;  // intervals up to 2^40 epochs
  static constexpr int kBuckets = kOctaves << kSubBits;

  explicit ReuseEstimator(uint64_t window = 1u << 16) : window_(window ? window : 1) {}

  // One re-access `gap` epochs (>= 1) after the previous access of the same chunk.
  void add(uint64_t gap);
  // Median reuse interval in epochs, each reuse weighted by its interval (the midpoint of its
  // bucket); 0 before any sample.
  double median() const;
  uint64_t samples() const { return total_; }

  static int bucket(uint64_t gap);
  static double midpoint(int b);

 private:
  std::array<uint64_t, kBuckets> weights_{};  // summed intervals per bucket
  uint64_t weight_ = 0;
  uint64_t total_ = 0;  // samples since the last halving
  uint64_t window_;
};

}  // namespace tier::heat
