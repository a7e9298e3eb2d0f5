// temperature.cpp - validation of the heat configuration and the log2 hot-set histogram.
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

}  // namespace tier::heat
