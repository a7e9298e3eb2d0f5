// moe.hpp - MoE expert-weight workloads from expert popularity files.
//
// Input (github.com/efeslab/fiddler, popularity results): {"total_input_tokens": <n>,
// "expert_popularity": [[count per expert] x experts] x layers]}, each row summing to twice the
// routed tokens (top-2 routing). The replay draws routing decisions in proportion to the counts
// with a fixed seed: per step, each of `tokens_per_step` tokens picks two distinct experts in
// every layer (the first in proportion to the counts, the second likewise among the others).
// One step is one epoch; every (layer, expert) used by the step is one reference, because a
// batched MoE layer reads each selected expert's weights once per step. Several files replay
// back to back (`steps` each), which is how a shift in the subject mix looks to the engine.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "popularity.hpp"
#include "workload.hpp"

namespace tier::replay {

struct MoeOptions {
  uint32_t steps = 2000;         // per file
  uint32_t tokens_per_step = 8;  // decode batch
  uint64_t seed = 42;
  // Mixtral-8x7B expert in fp16: w1, w2, w3 of 4096 x 14336 = 3 x 58.7 M x 2 bytes = 336 MiB.
  uint64_t expert_bytes = 3ull * 4096 * 14336 * 2;
};

// Objects are numbered layer * experts + expert (all files must agree on the shape).
Result<Workload> moe_workload(const std::vector<Popularity> &files, const MoeOptions &options);

}  // namespace tier::replay
