// popularity.hpp - MoE expert popularity files (Fiddler's Mixtral-8x7B results).
//
// Input (github.com/efeslab/fiddler, popularity results): {"total_input_tokens": <n>,
// "expert_popularity": [[count per expert] x experts] x layers]}, each row summing to twice the
// routed tokens (top-2 routing). Every layer must have the same number of experts (>= 2) and
// at least one routed token. Errors name the file and the element.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tier::workloads {

struct Popularity {
  std::string name;
  uint64_t total_input_tokens = 0;
  std::vector<std::vector<double>> counts;  // [layer][expert]
};

Result<Popularity> parse_popularity(const std::string &text, const std::string &origin);
Result<Popularity> load_popularity(const std::string &path);

}  // namespace tier::workloads
