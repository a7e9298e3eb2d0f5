// popularity.cpp - the strict reader of expert popularity files (see popularity.hpp).
//
// Thread-safety: pure functions.
#include "popularity.hpp"

#include <fstream>
#include <sstream>

#include "json_reader.hpp"

namespace tier::workloads {

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

}  // namespace tier::workloads
