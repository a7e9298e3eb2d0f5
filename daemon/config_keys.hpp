// config_keys.hpp - the one table of tierd's scalar settings: TOML key, flag, kind, the check
// and store function, and how a value is shown. The file parser, the flag parser, the reload
// diff and config_text() all walk this table, so a key is named and checked in one place.
// [[clients]] rules are not scalars; config_file.cpp and config_diff.cpp handle them.
//
// Messages from set() carry no location: callers prefix "file:line:col: key: " or "--flag: ".
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config.hpp"

namespace tier::daemon::detail {

// A value as TOML gives it, or as a flag's text converted for the key's kind.
using Value = std::variant<bool, int64_t, double, std::string>;

enum class Kind { kString, kInt, kDouble, kBool, kSize };

struct KeySpec {
  const char *key;   // "epoch_ms", "metrics.port"
  const char *flag;  // "--epoch-ms", or nullptr when only the file sets it
  Kind kind;
  Status (*set)(Config &config, const Value &value);
  std::string (*show)(const Config &config);  // as written in a config file
  bool restart = false;                       // a reload cannot apply it (changes_needing_restart)
};

const std::vector<KeySpec> &key_specs();
const KeySpec *find_key(std::string_view key);

// Converts a flag's text for `kind` into *out (kSize and kString stay text; set() parses
// sizes). An out-parameter rather than Result<Value>: GCC 12 -O2 with ASan reports a false
// -Wmaybe-uninitialized on a variant moved into a Result's variant.
Status value_from_flag_text(Kind kind, const std::string &text, Value *out);

// "a string \"x\"", "the integer 3", ... for messages about a wrong type.
std::string describe_value(const Value &value);

// The closest candidate within a small edit distance, or "" (for "did you mean" hints).
std::string closest_name(std::string_view word, const std::vector<std::string> &candidates);

// TOML string literal with escapes.
std::string quote(std::string_view text);

// Checks shared with [[clients]] parsing.
Status check_comm(const std::string &comm);
Status check_uid(int64_t uid);
Status check_priority(int64_t priority);

}  // namespace tier::daemon::detail
