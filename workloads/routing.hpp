// routing.hpp - seeded top-k routing draws that follow expert popularity counts.
//
// A token picks its first expert in proportion to the layer's counts and its second likewise
// among the others (top-2, as Mixtral). The generator is SplitMix64, a fixed and documented
// algorithm, so a seed gives the same draws with any standard library
// (std::discrete_distribution's algorithm is not specified). tier-replay and tier-serve-demo
// draw with it.
//
// Thread-safety: SplitMix64 is a plain value (one per thread); draw() is pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tier::workloads {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// An index drawn in proportion to weights[i], skipping `exclude` (pass weights.size() to
// exclude nothing).
size_t draw(const std::vector<double> &weights, size_t exclude, SplitMix64 &rng);

// One token's top-2 choice: two distinct experts of one layer.
struct Top2 {
  size_t first, second;
};
inline Top2 draw_top2(const std::vector<double> &weights, SplitMix64 &rng) {
  const size_t first = draw(weights, weights.size(), rng);
  return Top2{first, draw(weights, first, rng)};
}

}  // namespace tier::workloads
