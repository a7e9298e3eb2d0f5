// rules.hpp - the shim's placement rules: which allocation sizes go where.
//
// Grammar (docs/preload.md):
//   rules     := rule { (';' | newline) rule }        ('#' starts a comment to the line's end)
//   rule      := condition { '&' condition } ':' placement
//   condition := 'size' ('>=' | '>' | '<=' | '<') SIZE | 'all'
//   SIZE      := digits [ B | K | KiB | M | MiB | G | GiB | T | TiB | kB | MB | GB | TB ]
//   placement := 'tier=' targets                  -> libtier policy "preferred=targets"
//                                                    ("preferred-many=" with several targets)
//              | 'interleave=' targets-with-weights -> "weighted=..." when a weight is given
//              | any policy of tier_policy_parse  (preferred=, bind=, weighted=, ...)
// A segment that is only "no-hugepage" is the policy option of the rule before it
// ("size>=1MiB:tier=cxl;no-hugepage"), since the policy grammar writes options after ';'.
// The placement text is parsed by libtier's own tier_policy_parse: one grammar, one parser.
// The first rule whose conditions all hold places the allocation.
//
// Thread-safety: parse_rules is a pure function of its arguments (and the runtime's immutable
// topology); a parsed rule set is immutable and may be read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tier/tier.h"

namespace tier::preload {

struct Rule {
  size_t min_size = 0;         // inclusive
  size_t max_size = SIZE_MAX;  // inclusive
  std::string text;            // the rule as written, for messages and the exit report
  std::string policy_text;     // what was given to tier_policy_parse
  tier_policy policy = TIER_POLICY_INIT;
  tier_placement *placement = nullptr;  // interned by resolve_rules

  bool matches(size_t size) const { return size >= min_size && size <= max_size; }
};

// Parses `text` (from `origin`: "TIER_PRELOAD" or a file name, used in messages). `runtime` is
// needed to expand kinds mixed with weights ("interleave=dram:3,cxl:1"); with NULL such rules
// are an error. Errors read "origin:line:column: rule `...`: what".
Result<std::vector<Rule>> parse_rules(const tier_runtime *runtime, const std::string &text,
                                      const std::string &origin);

// Interns each rule's policy with the runtime (tier_placement_get), which also checks that the
// targets exist on this machine's topology.
Status resolve_rules(tier_runtime *runtime, std::vector<Rule> &rules, const std::string &origin);

// "64KiB" -> 65536. Exposed for tests. Errors name the offending text.
Result<size_t> parse_size(const std::string &text);

// The smallest size any rule matches (SIZE_MAX when there is none): the shim's fast-path gate.
size_t min_matching_size(const std::vector<Rule> &rules);

}  // namespace tier::preload
