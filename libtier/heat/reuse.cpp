// reuse.cpp - the reuse-interval histogram (see reuse.hpp).
//
// Thread-safety: see reuse.hpp.
#include "heat/reuse.hpp"

#include <bit>
#include <cmath>

namespace tier::heat {

int ReuseEstimator::bucket(uint64_t gap) {
  if (gap < 1) gap = 1;
  const int e = std::bit_width(gap) - 1;  // 2^e <= gap < 2^(e+1)
  if (e >= kOctaves) return kBuckets - 1;
  // The kSubBits bits below the leading one pick the sub-bucket.
  const int sub = e >= kSubBits ? static_cast<int>((gap >> (e - kSubBits)) & ((1 << kSubBits) - 1))
                                : static_cast<int>((gap << (kSubBits - e)) & ((1 << kSubBits) - 1));
  return (e << kSubBits) | sub;
}

double ReuseEstimator::midpoint(int b) {
  const int e = b >> kSubBits;
  const double sub = static_cast<double>(b & ((1 << kSubBits) - 1)) + 0.5;
  return std::ldexp(1.0 + sub / (1 << kSubBits), e);
}

void ReuseEstimator::add(uint64_t gap) {
  if (gap < 1) gap = 1;
  // Each reuse weighs its interval: the median is then over the time chunks spend waiting to
  // be reused, not over reuse events, so a chunk re-read every epoch (a shared system prompt)
  // does not drag the time scale down to one epoch while most waiting happens over minutes.
  weights_[bucket(gap)] += gap;
  weight_ += gap;
  if (++total_ < window_) return;
  // Halving keeps the recent half of the evidence dominant, so the estimate follows a shift
  // in the workload within about one window of samples.
  total_ /= 2;
  weight_ = 0;
  for (uint64_t &w : weights_) weight_ += (w >>= 1);
}

double ReuseEstimator::median() const {
  if (!weight_) return 0;
  uint64_t cum = 0;
  for (int b = 0; b < kBuckets; ++b) {
    cum += weights_[b];
    if (2 * cum >= weight_) return midpoint(b);
  }
  return midpoint(kBuckets - 1);
}

}  // namespace tier::heat
