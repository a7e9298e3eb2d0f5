// routing.cpp - see routing.hpp.
#include "routing.hpp"

namespace tier::workloads {

size_t draw(const std::vector<double> &weights, size_t exclude, SplitMix64 &rng) {
  double total = 0;
  for (size_t i = 0; i < weights.size(); ++i)
    if (i != exclude) total += weights[i];
  double x = rng.uniform() * total;
  size_t last = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (i == exclude || weights[i] <= 0) continue;
    last = i;
    if ((x -= weights[i]) < 0) return i;
  }
  return last;
}

}  // namespace tier::workloads
