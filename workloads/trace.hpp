// trace.hpp - Mooncake-format KV-cache traces: parsing, and variants for generalisation checks.
//
// Format (github.com/kvcache-ai/Mooncake, FAST'25 traces): one JSON object per line,
//   {"timestamp": <ms>, "input_length": <tokens>, "output_length": <tokens>,
//    "hash_ids": [<block id>, ...]}
// where one hash id is one KV-cache block of 512 tokens and equal ids across requests are the
// same prefix block. The parser is strict: each line must be one object with exactly these four
// members, of these types (non-negative integers; the timestamp may have a fraction); blank
// lines are skipped. Errors name the file, the line and the member.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tier::workloads {

inline constexpr uint32_t kTokensPerBlock = 512;

struct Request {
  double timestamp_ms = 0;
  uint64_t input_length = 0;
  uint64_t output_length = 0;
  std::vector<uint64_t> hash_ids;
};

struct Trace {
  std::string name;
  std::vector<Request> requests;
};

// One line (without its newline) as request; errors are "<origin>:<line>: ...".
Result<Request> parse_request(std::string_view line, const std::string &origin, size_t line_no);
// A whole stream; an empty trace is an error.
Result<Trace> parse_trace(std::istream &in, const std::string &origin);
Result<Trace> load_trace(const std::string &path);

// Variants to check that results are not an artefact of one file: every k-th request starting
// at `offset` (a thinner, time-stretched load), or the requests from `fraction` of the way on
// (a time-shifted window with a cold start).
Trace every_kth(const Trace &t, size_t k, size_t offset);
Trace tail_from(const Trace &t, double fraction);

}  // namespace tier::workloads
