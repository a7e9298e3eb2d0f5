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
  ++counts_[bucket(gap)];
  if (++total_ < window_) return;
  // Halving keeps the recent half of the evidence dominant, so the estimate follows a shift
  // in the workload within about one window of samples.
  total_ = 0;
  for (uint64_t &c : counts_) total_ += (c >>= 1);
}

double ReuseEstimator::median() const {
  if (!total_) return 0;
  uint64_t cum = 0;
  for (int b = 0; b < kBuckets; ++b) {
    cum += counts_[b];
    if (2 * cum >= total_) return midpoint(b);
  }
  return midpoint(kBuckets - 1);
}

}  // namespace tier::heat
