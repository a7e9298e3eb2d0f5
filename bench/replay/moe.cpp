// moe.cpp - MoE workloads from popularity files and seeded routing draws (see moe.hpp).
//
// Thread-safety: pure functions.
#include "moe.hpp"

#include <algorithm>

#include "routing.hpp"

namespace tier::replay {

Result<Workload> moe_workload(const std::vector<Popularity> &files, const MoeOptions &o) {
  if (files.empty()) return make_error(TIER_EINVAL, "moe: no popularity files");
  const size_t layers = files[0].counts.size(), experts = files[0].counts[0].size();
  Workload w;
  w.kind = "moe";
  w.object_bytes = o.expert_bytes;
  w.objects = static_cast<uint32_t>(layers * experts);
  for (const Popularity &p : files) {
    if (p.counts.size() != layers || p.counts[0].size() != experts)
      return make_error(TIER_EINVAL,
                        "moe: " + p.name + " has a different shape than " + files[0].name);
    w.name += (w.name.empty() ? "" : " + ") + p.name;
  }
  SplitMix64 rng{o.seed};
  std::vector<uint8_t> used(experts);
  for (const Popularity &p : files)
    for (uint32_t s = 0; s < o.steps; ++s) {
      for (size_t l = 0; l < layers; ++l) {
        std::fill(used.begin(), used.end(), 0);
        for (uint32_t t = 0; t < o.tokens_per_step; ++t) {
          const size_t first = draw(p.counts[l], experts, rng);
          const size_t second = draw(p.counts[l], first, rng);
          used[first] = used[second] = 1;
        }
        for (size_t e = 0; e < experts; ++e)
          if (used[e]) w.refs.push_back(static_cast<uint32_t>(l * experts + e));
      }
      w.epoch_end.push_back(w.refs.size());
    }
  return w;
}

}  // namespace tier::replay
