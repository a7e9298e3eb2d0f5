// rules.cpp - parsing the shim's rules (grammar in rules.hpp). The placement part of a rule is
// handed to libtier's tier_policy_parse after two spellings of the examples are mapped
// onto the policy grammar ("tier=" and a weighted "interleave="); no second policy parser.
// Thread-safety: pure functions.
#include "rules.hpp"

#include <cctype>
#include <cstring>

namespace tier::preload {
namespace {

std::string trim(const std::string &s, size_t *lead = nullptr) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  if (lead) *lead = b;
  return s.substr(b, e - b);
}

// One rule's text and where it starts (1-based line and column) in the whole input.
struct Segment {
  std::string text;
  size_t line = 1;
  size_t column = 1;
};

// Splits on ';' and newlines, drops comments and blank segments.
std::vector<Segment> split(const std::string &text) {
  std::vector<Segment> out;
  size_t line = 1, col = 1, start_col = 1;
  std::string cur;
  bool comment = false;
  auto flush = [&] {
    size_t lead = 0;
    std::string t = trim(cur, &lead);
    if (!t.empty()) out.push_back(Segment{t, line, start_col + lead});
    cur.clear();
  };
  for (char c : text) {
    if (c == '\n') {
      flush();
      comment = false;
      ++line;
      col = start_col = 1;
      continue;
    }
    ++col;
    if (comment) continue;
    if (c == '#') {
      comment = true;
      continue;
    }
    if (c == ';') {
      flush();
      start_col = col;
      continue;
    }
    cur += c;
  }
  flush();
  return out;
}

struct Unit {
  const char *name;
  uint64_t factor;
};
constexpr Unit kUnits[] = {
    {"", 1},
    {"B", 1},
    {"K", 1ull << 10},
    {"KiB", 1ull << 10},
    {"k", 1ull << 10},
    {"kB", 1000},
    {"KB", 1000},
    {"M", 1ull << 20},
    {"MiB", 1ull << 20},
    {"MB", 1000000},
    {"G", 1ull << 30},
    {"GiB", 1ull << 30},
    {"GB", 1000000000},
    {"T", 1ull << 40},
    {"TiB", 1ull << 40},
    {"TB", 1000000000000ull},
};

Error rule_error(const std::string &origin, const Segment &seg, size_t offset,
                 const std::string &what) {
  return make_error(TIER_ECONFIG, origin + ":" + std::to_string(seg.line) + ":" +
                                      std::to_string(seg.column + offset) + ": rule `" + seg.text +
                                      "`: " + what);
}

// Applies one condition ("size>=64KiB" or "all") to `rule`.
Status condition(const std::string &origin, const Segment &seg, size_t offset,
                 const std::string &spaced, Rule &rule) {
  // Blanks inside a condition carry no meaning ("size >= 64 KiB").
  std::string cond;
  for (char c : spaced)
    if (!std::isspace(static_cast<unsigned char>(c))) cond += c;
  if (cond == "all") return {};
  if (cond.compare(0, 4, "size") != 0) {
    return rule_error(origin, seg, offset,
                      "unknown condition `" + cond +
                          "` (expected size>=N, size>N, size<=N, "
                          "size<N or all)");
  }
  size_t p = 4;
  std::string op;
  while (p < cond.size() && std::strchr("<>=!", cond[p])) op += cond[p++];
  if (op != ">=" && op != ">" && op != "<=" && op != "<") {
    return rule_error(origin, seg, offset + 4,
                      "unknown comparison `" + op + "` (expected >=, >, <= or <)");
  }
  auto n = parse_size(trim(cond.substr(p)));
  if (!n) return rule_error(origin, seg, offset + p, n.error().message);
  size_t v = *n;
  if (op == ">=") {
    rule.min_size = std::max(rule.min_size, v);
  } else if (op == ">") {
    if (v == SIZE_MAX) return rule_error(origin, seg, offset + p, "no size is larger");
    rule.min_size = std::max(rule.min_size, v + 1);
  } else if (op == "<=") {
    rule.max_size = std::min(rule.max_size, v);
  } else {
    if (v == 0) return rule_error(origin, seg, offset + p, "no size is smaller than 0");
    rule.max_size = std::min(rule.max_size, v - 1);
  }
  return {};
}

// Maps the rule spellings onto the policy grammar (see rules.hpp).
std::string to_policy_text(const std::string &placement) {
  if (placement.compare(0, 5, "tier=") == 0) {
    std::string targets = placement.substr(5);
    std::string targets_only = targets.substr(0, targets.find(';'));
    bool many = targets_only.find(',') != std::string::npos;
    return (many ? "preferred-many=" : "preferred=") + targets;
  }
  if (placement.compare(0, 11, "interleave=") == 0) {
    std::string targets = placement.substr(11);
    if (targets.substr(0, targets.find(';')).find(':') != std::string::npos)
      return "weighted=" + targets;
  }
  return placement;
}

}  // namespace

Result<size_t> parse_size(const std::string &text) {
  size_t p = 0;
  while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) ++p;
  if (p == 0) return make_error(TIER_ECONFIG, "expected a size, found `" + text + "`");
  if (p > 19) return make_error(TIER_ECONFIG, "size `" + text + "` is too large");
  uint64_t digits = std::stoull(text.substr(0, p));
  std::string unit = trim(text.substr(p));
  for (const Unit &u : kUnits) {
    if (unit != u.name) continue;
    uint64_t v = 0;
    if (__builtin_mul_overflow(digits, u.factor, &v) || v > SIZE_MAX)
      return make_error(TIER_ECONFIG, "size `" + text + "` is too large");
    return static_cast<size_t>(v);
  }
  return make_error(TIER_ECONFIG, "unknown size unit `" + unit +
                                      "` (expected B, K/KiB, M/MiB, G/GiB, T/TiB, or kB, MB, GB, "
                                      "TB for powers of 1000)");
}

Result<std::vector<Rule>> parse_rules(const tier_runtime *runtime, const std::string &text,
                                      const std::string &origin) {
  std::vector<Rule> rules;
  for (const Segment &seg : split(text)) {
    if (seg.text == "no-hugepage") {
      if (rules.empty())
        return rule_error(origin, seg, 0, "`no-hugepage` must follow a rule's placement");
      Rule &prev = rules.back();
      prev.text += ";no-hugepage";
      prev.policy_text += ";no-hugepage";
      prev.policy.flags |= TIER_POLICY_NO_HUGEPAGE;
      continue;
    }
    Rule rule;
    rule.text = seg.text;
    size_t colon = seg.text.find(':');
    if (colon == std::string::npos) {
      return rule_error(origin, seg, 0,
                        "expected `condition:placement`, e.g. `size>=1MiB:tier=cxl`");
    }
    // Conditions, joined by '&'.
    size_t start = 0;
    while (start <= colon) {
      size_t amp = seg.text.find('&', start);
      size_t end = (amp == std::string::npos || amp > colon) ? colon : amp;
      size_t lead = 0;
      std::string cond = trim(seg.text.substr(start, end - start), &lead);
      if (cond.empty()) return rule_error(origin, seg, start, "empty condition");
      if (Status st = condition(origin, seg, start + lead, cond, rule); !st) return st.error();
      start = end + 1;
    }
    if (rule.min_size > rule.max_size)
      return rule_error(origin, seg, 0, "no size satisfies all its conditions");
    size_t lead = 0;
    std::string placement = trim(seg.text.substr(colon + 1), &lead);
    size_t pcol = colon + 1 + lead;
    if (placement.empty())
      return rule_error(origin, seg, pcol, "expected a placement after `:`, e.g. `tier=cxl`");
    rule.policy_text = to_policy_text(placement);
    if (tier_policy_parse(runtime, rule.policy_text.c_str(), &rule.policy) != TIER_OK) {
      return rule_error(origin, seg, pcol, "placement `" + placement + "`: " + tier_last_error());
    }
    rules.push_back(std::move(rule));
  }
  if (rules.empty())
    return make_error(TIER_ECONFIG, origin + ": no rules (e.g. `size>=1MiB:tier=cxl`)");
  return rules;
}

Status resolve_rules(tier_runtime *runtime, std::vector<Rule> &rules, const std::string &origin) {
  for (size_t i = 0; i < rules.size(); ++i) {
    rules[i].placement = tier_placement_get(runtime, &rules[i].policy);
    if (rules[i].placement == nullptr) {
      return make_error(TIER_ECONFIG, origin + ": rule " + std::to_string(i + 1) + " `" +
                                          rules[i].text + "`: " + tier_last_error());
    }
  }
  return {};
}

size_t min_matching_size(const std::vector<Rule> &rules) {
  size_t m = SIZE_MAX;
  for (const Rule &r : rules) m = std::min(m, r.min_size);
  return m;
}

}  // namespace tier::preload
