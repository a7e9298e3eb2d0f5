// json_reader.hpp - a small strict JSON reader for the replay's two input formats.
//
// The Mooncake trace is one flat object per line and the MoE popularity files are an object of
// numbers and nested arrays of numbers, so a full JSON library would earn little here. This
// reader parses RFC 8259 values into a tree (objects keep their key order, duplicate keys are
// an error), with numbers kept as doubles plus an "is a non-negative integer" flag. Errors
// name the byte column and what was expected. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace tier::workloads {

struct JsonValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  bool integer = false;  // a number written without fraction or exponent, >= 0, < 2^63
  uint64_t uint = 0;     // its value when `integer`
  std::string string;
  std::vector<JsonValue> items;                            // kArray
  std::vector<std::pair<std::string, JsonValue>> members;  // kObject, in document order

  const JsonValue *find(std::string_view key) const;
  static const char *kind_name(Kind k);
};

// Parses exactly one JSON value (surrounding whitespace allowed). Errors: "column N: ...".
Result<JsonValue> parse_json(std::string_view text);

}  // namespace tier::workloads
