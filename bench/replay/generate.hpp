// generate.hpp - a family of synthetic workloads, each a shape with a seed, so that a placement
// policy is judged on many kinds of work and on seeds nobody tuned it on, never on one trace.
//
// KV shapes produce Mooncake-format traces (512-token blocks, prefix-shared hash ids), which
// kv_workload() turns into epochs exactly as it does a recorded trace:
//   chat     multi-turn conversations arriving over time; each turn re-reads the shared system
//            prompt and the conversation's history, then appends its own blocks
//   agent    tool-using agents: a few long tool-schema prefixes shared by many sessions, each
//            session a run of short steps that re-read the prefix and the session so far
//   rag      retrieval: a corpus of documents with Zipf popularity; a request reads a system
//            prefix, one to three documents and a new question
//   burst    chat traffic with bursts in which many requests share a new, short-lived prefix
//   tenants  several tenants at once, each with its own system prompt, mixing chat and rag
// MoE shapes draw top-k routing per layer and step from a Zipf popularity over the experts:
//   moe-skewed   Zipf exponent 1.1, moe-uniform exponent 0.2, moe-drift a skewed popularity
//   whose ranking rotates over time (the hot set moves); experts 64 .. 512, top-2 or top-8.
// Every draw comes from SplitMix64 seeded by (shape, seed), so a (shape, seed) pair always
// gives the same workload. Sizes are chosen so that one replay of a policy takes well under a
// second; they are not tied to any recorded trace.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "workload.hpp"

namespace tier::replay {

struct GeneratedSpec {
  std::string shape;  // one of generated_shapes()
  uint64_t seed = 1;
  double scale = 1.0;  // multiplies the number of requests or steps
};

std::vector<std::string> generated_shapes();

// The workload of one shape and seed; TIER_EINVAL naming the known shapes otherwise.
Result<Workload> generate(const GeneratedSpec &spec);

// Parses "SHAPE[:SEED]" (seed default 1).
Result<GeneratedSpec> parse_generated(const std::string &text);

}  // namespace tier::replay
