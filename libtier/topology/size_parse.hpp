// size_parse.hpp - capacities as written in topology files: "16GiB", "512 MiB", "25%".
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace tier {

struct Capacity {
  uint64_t bytes = 0;  // when given as a size
  double percent = 0;  // when given as "N%" (0 < N <= 100)
};

// Units: B; KiB MiB GiB TiB (and K M G T, the same); KB MB GB TB (powers of 1000).
// A number may have a fraction ("1.5GiB"). Errors read: expected a size like "16GiB", got "x".
Result<Capacity> parse_capacity(const std::string &text);

// 17179869184 -> "16.0 GiB" (for tables and messages).
std::string format_bytes(uint64_t bytes);

}  // namespace tier
