// moe_stack.hpp - a Mixtral-shaped MoE layer stack whose expert weights live in Tier.
//
// Every (layer, expert) of the popularity data is one tensor registered with experts.h (the
// set allocates it on the largest tier, as a model loaded into capacity memory; the policy
// promotes what the router uses). Each serving step runs every layer: `route_tokens` tokens
// draw their top-2 experts from the current subject's popularity counts (SplitMix64, the
// replay's draws), the counts are scaled to the tokens the step really processed, each selected
// expert's weights are read (one line per page, stamps checked), and the decision is recorded
// with tier_experts_route. Before a layer runs, the next layer's most popular experts in the
// current subject are hinted with tier_experts_prefetch (a static predictor; real engines
// predict from the gate's input). The subject (popularity file) changes every `subject_steps`
// steps, which is how a shift in routing reaches the policy.
// Thread-safety: single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accounting.hpp"
#include "options.hpp"
#include "popularity.hpp"
#include "routing.hpp"
#include "tier/experts.h"

namespace serve_demo {

struct MoeCounters {
  uint64_t steps = 0, routings = 0, tokens_routed = 0, prefetches = 0, subject_switches = 0;
  uint64_t bad_pages = 0;
};

class MoeStack {
 public:
  // Registers every expert; false with `error` set on failure.
  bool init(tier_runtime *rt, std::vector<tier::workloads::Popularity> files, const Options &o,
            Accounting *acct, std::string *error);
  ~MoeStack();
  bool step(uint64_t tokens, std::string *error);
  const MoeCounters &counters() const { return c_; }
  tier_experts *set() const { return set_; }
  uint32_t layers() const { return layers_; }
  uint32_t experts() const { return experts_; }
  const std::string &subject() const { return files_[subject_].name; }

 private:
  void choose_subject();
  static uint64_t stamp(uint32_t layer, uint32_t expert) {
    return (uint64_t{layer} << 32) | expert;
  }

  tier_experts *set_ = nullptr;
  std::vector<tier::workloads::Popularity> files_;
  Options o_;
  Accounting *acct_ = nullptr;
  uint32_t layers_ = 0, experts_ = 0;
  uint64_t expert_bytes_ = 0;
  size_t subject_ = 0;
  std::vector<std::vector<uint32_t>> predicted_;  // [layer]: the subject's top-2 experts
  tier::workloads::SplitMix64 rng_{42};
  MoeCounters c_;
};

}  // namespace serve_demo
