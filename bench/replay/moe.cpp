// moe.cpp - popularity files and the seeded routing draws (see moe.hpp).
//
// Thread-safety: pure functions.
#include "moe.hpp"

#include <fstream>
#include <sstream>

#include "json_reader.hpp"

namespace tier::replay {

namespace {

// SplitMix64: a fixed, documented generator, so a seed gives the same draws with any
// standard library (std::discrete_distribution's algorithm is not specified).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// Index drawn in proportion to weights[i], skipping `exclude`.
size_t draw(const std::vector<double> &weights, size_t exclude, SplitMix64 &rng) {
  double total = 0;
  for (size_t i = 0; i < weights.size(); ++i)
    if (i != exclude) total += weights[i];
  double x = rng.uniform() * total;
  size_t last = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (i == exclude || weights[i] <= 0) continue;
    last = i;
    if ((x -= weights[i]) < 0) return i;
  }
  return last;
}

}  // namespace

Result<Popularity> parse_popularity(const std::string &text, const std::string &origin) {
  auto doc = parse_json(text);
  if (!doc) return make_error(TIER_EINVAL, origin + ": " + doc.error().message);
  const auto bad = [&](const std::string &what) {
    return make_error(TIER_EINVAL, origin + ": " + what);
  };
  if (doc->kind != JsonValue::kObject) return bad("expected an object");
  Popularity p;
  p.name = origin;
  const JsonValue *tokens = doc->find("total_input_tokens");
  if (!tokens || !tokens->integer)
    return bad("\"total_input_tokens\" must be a non-negative integer");
  p.total_input_tokens = tokens->uint;
  const JsonValue *pop = doc->find("expert_popularity");
  if (!pop || pop->kind != JsonValue::kArray || pop->items.empty())
    return bad("\"expert_popularity\" must be a non-empty array of layers");
  for (size_t l = 0; l < pop->items.size(); ++l) {
    const JsonValue &row = pop->items[l];
    const std::string where = "expert_popularity[" + std::to_string(l) + "]";
    if (row.kind != JsonValue::kArray || row.items.size() < 2)
      return bad(where + " must be an array of at least two expert counts");
    if (l && row.items.size() != p.counts[0].size())
      return bad(where + " has " + std::to_string(row.items.size()) + " experts, layer 0 has " +
                 std::to_string(p.counts[0].size()));
    std::vector<double> counts;
    double sum = 0;
    for (size_t e = 0; e < row.items.size(); ++e) {
      const JsonValue &v = row.items[e];
      if (v.kind != JsonValue::kNumber || v.number < 0)
        return bad(where + "[" + std::to_string(e) + "] must be a non-negative number");
      counts.push_back(v.number);
      sum += v.number;
    }
    if (!(sum > 0)) return bad(where + " has no routed tokens");
    p.counts.push_back(std::move(counts));
  }
  return p;
}

Result<Popularity> load_popularity(const std::string &path) {
  std::ifstream in(path);
  if (!in) return os_error("cannot open popularity file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_popularity(text.str(), path);
}

Result<Workload> moe_workload(const std::vector<Popularity> &files, const MoeOptions &o) {
  if (files.empty()) return make_error(TIER_EINVAL, "moe: no popularity files");
  const size_t layers = files[0].counts.size(), experts = files[0].counts[0].size();
  Workload w;
  w.kind = "moe";
  w.object_bytes = o.expert_bytes;
  w.objects = static_cast<uint32_t>(layers * experts);
  for (const Popularity &p : files) {
    if (p.counts.size() != layers || p.counts[0].size() != experts)
      return make_error(TIER_EINVAL,
                        "moe: " + p.name + " has a different shape than " + files[0].name);
    w.name += (w.name.empty() ? "" : " + ") + p.name;
  }
  SplitMix64 rng{o.seed};
  std::vector<uint8_t> used(experts);
  for (const Popularity &p : files)
    for (uint32_t s = 0; s < o.steps; ++s) {
      for (size_t l = 0; l < layers; ++l) {
        std::fill(used.begin(), used.end(), 0);
        for (uint32_t t = 0; t < o.tokens_per_step; ++t) {
          const size_t first = draw(p.counts[l], experts, rng);
          const size_t second = draw(p.counts[l], first, rng);
          used[first] = used[second] = 1;
        }
        for (size_t e = 0; e < experts; ++e)
          if (used[e]) w.refs.push_back(static_cast<uint32_t>(l * experts + e));
      }
      w.epoch_end.push_back(w.refs.size());
    }
  return w;
}

}  // namespace tier::replay
