// policy_text.cpp - tier_policy_parse and tier_policy_format (grammar in tier.h and
// docs/api.md).
//
// A single selector target without a weight keeps its selector (select = FASTEST, TIER, KIND,
// ...), so it is resolved when the placement is made. Anything else (several targets, node
// numbers, weights) becomes an explicit node list, for which kinds, tiers and selectors are
// expanded with the runtime. Errors give the column (1-based) and the offending word.
// Thread-safety: pure functions of their arguments and the (immutable) topology.
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "alloc/abi.hpp"
#include "alloc/placement.hpp"

using namespace tier;
using namespace tier::alloc;

namespace {

struct ModeName {
  const char *name;
  tier_mode mode;
};
constexpr ModeName kModes[] = {{"preferred", TIER_MODE_PREFERRED},
                               {"bind", TIER_MODE_BIND},
                               {"preferred-many", TIER_MODE_PREFERRED_MANY},
                               {"interleave", TIER_MODE_INTERLEAVE},
                               {"weighted", TIER_MODE_WEIGHTED_INTERLEAVE}};

struct SelectName {
  const char *name;
  tier_select select;
};
constexpr SelectName kSelectors[] = {{"fastest", TIER_SELECT_FASTEST},
                                     {"largest", TIER_SELECT_LARGEST},
                                     {"lowest-latency", TIER_SELECT_LOWEST_LATENCY},
                                     {"highest-bandwidth", TIER_SELECT_HIGHEST_BANDWIDTH}};

constexpr const char *kNoHugepage = "no-hugepage";

struct Target {
  tier_policy single;  // the target as a one-selector policy
  int weight = 0;      // 0 = none given
  size_t column = 0;
  std::string word;
};

class Parser {
 public:
  Parser(const tier_runtime *rt, const char *text) : rt_(rt), text_(text) {}

  Status parse(tier_policy *out) {
    tier_policy p = TIER_POLICY_INIT;
    std::string mode = word("-");
    bool found = false;
    for (const ModeName &m : kModes) {
      if (mode == m.name) p.mode = m.mode, found = true;
    }
    if (!found)
      return error(0, "unknown mode `" + mode +
                          "` (expected preferred, bind, preferred-many, interleave "
                          "or weighted)");
    std::vector<Target> targets;
    if (peek() == '=') {
      ++pos_;
      do {
        auto t = target(p.mode);
        if (!t) return std::move(t).error();
        targets.push_back(*t);
      } while (peek() == ',' && ++pos_);
    }
    if (peek() == ';') {
      ++pos_;
      size_t col = pos_;
      std::string opt = word("-");
      if (opt != kNoHugepage)
        return error(col, "unknown option `" + opt + "` (expected no-hugepage)");
      p.flags |= TIER_POLICY_NO_HUGEPAGE;
    }
    if (pos_ != text_.size()) {
      return error(pos_, std::string("unexpected `") + text_[pos_] + "`");
    }
    if (Status st = combine(p, targets); !st) return st;
    *out = p;
    return {};
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  // A run of letters, digits and the extra characters.
  std::string word(const char *extra) {
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   std::strchr(extra, text_[pos_]) != nullptr))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }

  Error error(size_t column, const std::string &what) const {
    return make_error(TIER_EINVAL, "policy \"" + text_ + "\", column " +
                                       std::to_string(column + 1) + ": " + what);
  }

  Result<long> number(const char *what) {
    size_t col = pos_;
    std::string digits = word("");
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
        digits.size() > 9)
      return error(col, std::string("expected ") + what + ", found `" + digits + "`");
    return std::stol(digits);
  }

  Result<Target> target(tier_mode mode) {
    Target t;
    t.column = pos_;
    t.single = TIER_POLICY_INIT;
    t.word = word("-");
    if (t.word.empty()) return error(pos_, "expected a target after `=` or `,`");
    bool known = false;
    for (const SelectName &s : kSelectors) {
      if (t.word == s.name) t.single.select = s.select, known = true;
    }
    if (!known && t.word == "tier") {
      if (peek() != ':') return error(pos_, "expected `:` and a tier number after `tier`");
      ++pos_;
      auto n = number("a tier number");
      if (!n) return std::move(n).error();
      t.single.select = TIER_SELECT_TIER;
      t.single.tier = static_cast<int>(*n);
      t.word += ":" + std::to_string(*n);
      known = true;
    }
    if (!known) {
      if (auto kind = parse_kind(t.word); kind && *kind != TIER_KIND_UNKNOWN) {
        t.single.select = TIER_SELECT_KIND;
        t.single.kind = *kind;
        known = true;
      }
    }
    if (!known && t.word.find_first_not_of("0123456789") == std::string::npos &&
        t.word.size() <= 9) {
      t.single.select = TIER_SELECT_NODES;
      t.single.nnodes = 1;
      t.single.nodes[0] = std::stoi(t.word);
      known = true;
    }
    if (!known) {
      return error(t.column, "unknown target `" + t.word +
                                 "` (expected a node number, tier:N, hbm, dram, cxl, cxl-pool, "
                                 "fastest, largest, lowest-latency or highest-bandwidth)");
    }
    if (peek() == ':') {
      ++pos_;
      size_t col = pos_;
      auto w = number("a weight");
      if (!w) return std::move(w).error();
      if (mode != TIER_MODE_WEIGHTED_INTERLEAVE)
        return error(col, "a weight is only allowed with the `weighted` mode");
      if (*w < 1 || *w > 255)
        return error(col, "weight " + std::to_string(*w) + " out of range 1..255");
      t.weight = static_cast<int>(*w);
    }
    return t;
  }

  // Turns the targets into the policy's selector or node list.
  Status combine(tier_policy &p, const std::vector<Target> &targets) {
    if (targets.empty()) return {};
    if (targets.size() == 1 && targets[0].weight == 0) {
      const tier_policy &s = targets[0].single;
      p.select = s.select;
      p.tier = s.tier;
      p.kind = s.kind;
      p.nnodes = s.nnodes;
      p.nodes[0] = s.nodes[0];
      p.weights[0] = 1;
      return {};
    }
    p.select = TIER_SELECT_NODES;
    p.nnodes = 0;
    for (const Target &t : targets) {
      std::vector<int> ids;
      if (t.single.select == TIER_SELECT_NODES) {
        ids.push_back(t.single.nodes[0]);
      } else {
        if (rt_ == nullptr) {
          return error(t.column, "`" + t.word +
                                     "` must be expanded into nodes here, which needs a runtime "
                                     "(tier_policy_parse was given NULL)");
        }
        tier_policy probe = t.single;
        if (Status st = validate_policy(rt_, &probe); !st)
          return error(t.column, std::move(st).error().message);
        auto r = target_node_ids(rt_, &probe);
        if (!r) return error(t.column, std::move(r).error().message);
        ids = *r;
      }
      for (int id : ids) {
        for (int j = 0; j < p.nnodes; ++j) {
          if (p.nodes[j] == id)
            return error(t.column, "`" + t.word + "` names node " + std::to_string(id) + " again");
        }
        if (p.nnodes == TIER_POLICY_MAX_NODES) {
          return error(t.column, "more than " + std::to_string(TIER_POLICY_MAX_NODES) + " nodes");
        }
        p.nodes[p.nnodes] = id;
        p.weights[p.nnodes] = static_cast<uint8_t>(t.weight ? t.weight : 1);
        ++p.nnodes;
      }
    }
    return {};
  }

  const tier_runtime *rt_;
  std::string text_;
  size_t pos_ = 0;
};

}  // namespace

extern "C" {

tier_status tier_policy_parse(const tier_runtime *runtime, const char *text, tier_policy *policy) {
  return guarded("tier_policy_parse", TIER_ENOMEM, [&] {
    if (text == nullptr) return set_last_error(TIER_EINVAL, "tier_policy_parse: text is NULL");
    if (policy == nullptr) return set_last_error(TIER_EINVAL, "tier_policy_parse: policy is NULL");
    Parser parser(runtime, text);
    Status st = parser.parse(policy);
    return st ? TIER_OK : set_last_error(st.error());
  });
}

int tier_policy_format(const tier_policy *policy, char *buf, size_t len) {
  return guarded("tier_policy_format", int(TIER_ENOMEM), [&]() -> int {
    if (policy == nullptr) return set_last_error(TIER_EINVAL, "tier_policy_format: policy is NULL");
    if (buf == nullptr && len > 0)
      return set_last_error(TIER_EINVAL, "tier_policy_format: buf is NULL");
    const tier_policy &p = *policy;
    // Read the enums as integers first: a C caller may have stored anything there.
    const int raw_mode = raw_enum(p.mode), raw_select = raw_enum(p.select);
    const int raw_kind = raw_enum(p.kind);
    const char *mode = nullptr;
    for (const ModeName &n : kModes)
      if (n.mode == raw_mode) mode = n.name;
    if (p.size != sizeof(tier_policy) || mode == nullptr) {
      return set_last_error(TIER_EINVAL,
                            "tier_policy_format: not a valid tier_policy (size or "
                            "mode)");
    }
    std::string s = mode;
    switch (raw_select) {
      case TIER_SELECT_NODES:
        if (p.nnodes < 1 || p.nnodes > TIER_POLICY_MAX_NODES)
          return set_last_error(TIER_EINVAL, "tier_policy_format: policy.nnodes out of range");
        s += "=";
        for (int i = 0; i < p.nnodes; ++i) {
          s += (i ? "," : "") + std::to_string(p.nodes[i]);
          if (p.mode == TIER_MODE_WEIGHTED_INTERLEAVE) s += ":" + std::to_string(p.weights[i]);
        }
        break;
      case TIER_SELECT_TIER:
        s += "=tier:" + std::to_string(p.tier);
        break;
      case TIER_SELECT_KIND:
        if (raw_kind < TIER_KIND_UNKNOWN || raw_kind > TIER_KIND_CXL_POOL)
          return set_last_error(TIER_EINVAL, "tier_policy_format: policy.kind out of range");
        s += std::string("=") + kind_name(p.kind);
        break;
      default: {
        const char *sel = nullptr;
        for (const SelectName &n : kSelectors)
          if (n.select == raw_select) sel = n.name;
        if (sel == nullptr)
          return set_last_error(TIER_EINVAL, "tier_policy_format: policy.select out of range");
        s += std::string("=") + sel;
      }
    }
    if (p.flags & TIER_POLICY_NO_HUGEPAGE) s += std::string(";") + kNoHugepage;
    if (len > 0) std::snprintf(buf, len, "%s", s.c_str());
    return static_cast<int>(s.size());
  });
}

}  // extern "C"
