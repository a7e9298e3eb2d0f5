// trace.cpp - the strict Mooncake JSON-lines reader (see trace.hpp).
//
// Thread-safety: pure functions.
#include "trace.hpp"

#include <fstream>

#include "json_reader.hpp"

namespace tier::workloads {

namespace {

Error line_error(const std::string &origin, size_t line_no, const std::string &what) {
  return make_error(TIER_EINVAL, origin + ":" + std::to_string(line_no) + ": " + what);
}

}  // namespace

Result<Request> parse_request(std::string_view line, const std::string &origin, size_t line_no) {
  auto doc = parse_json(line);
  if (!doc) return line_error(origin, line_no, doc.error().message);
  if (doc->kind != JsonValue::kObject)
    return line_error(origin, line_no,
                      std::string("expected an object, found ") + JsonValue::kind_name(doc->kind));
  static constexpr std::string_view kFields[] = {"timestamp", "input_length", "output_length",
                                                 "hash_ids"};
  for (const auto &m : doc->members) {
    bool known = false;
    for (std::string_view f : kFields) known |= m.first == f;
    if (!known) return line_error(origin, line_no, "unknown member \"" + m.first + "\"");
  }
  const auto field = [&](std::string_view name) -> Result<const JsonValue *> {
    const JsonValue *v = doc->find(name);
    if (!v) return line_error(origin, line_no, "missing member \"" + std::string(name) + "\"");
    return v;
  };
  const auto count = [&](std::string_view name, uint64_t *out) -> Status {
    auto v = field(name);
    if (!v) return std::move(v).error();
    if (!(*v)->integer)
      return line_error(origin, line_no,
                        "member \"" + std::string(name) + "\" must be a non-negative integer");
    *out = (*v)->uint;
    return {};
  };
  Request r;
  auto ts = field("timestamp");
  if (!ts) return std::move(ts).error();
  if ((*ts)->kind != JsonValue::kNumber || (*ts)->number < 0)
    return line_error(origin, line_no, "member \"timestamp\" must be a non-negative number");
  r.timestamp_ms = (*ts)->number;
  if (Status st = count("input_length", &r.input_length); !st) return std::move(st).error();
  if (Status st = count("output_length", &r.output_length); !st) return std::move(st).error();
  auto ids = field("hash_ids");
  if (!ids) return std::move(ids).error();
  if ((*ids)->kind != JsonValue::kArray)
    return line_error(origin, line_no, "member \"hash_ids\" must be an array");
  r.hash_ids.reserve((*ids)->items.size());
  for (size_t i = 0; i < (*ids)->items.size(); ++i) {
    const JsonValue &h = (*ids)->items[i];
    if (!h.integer)
      return line_error(origin, line_no,
                        "hash_ids[" + std::to_string(i) + "] must be a non-negative integer");
    r.hash_ids.push_back(h.uint);
  }
  return r;
}

Result<Trace> parse_trace(std::istream &in, const std::string &origin) {
  Trace t;
  t.name = origin;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto r = parse_request(line, origin, line_no);
    if (!r) return std::move(r).error();
    t.requests.push_back(std::move(*r));
  }
  if (in.bad()) return os_error(origin + ": read error after line " + std::to_string(line_no));
  if (t.requests.empty()) return make_error(TIER_EINVAL, origin + ": no requests");
  return t;
}

Result<Trace> load_trace(const std::string &path) {
  std::ifstream in(path);
  if (!in) return os_error("cannot open trace " + path);
  return parse_trace(in, path);
}

Trace every_kth(const Trace &t, size_t k, size_t offset) {
  Trace out;
  out.name = t.name + " (every " + std::to_string(k) + "th from " + std::to_string(offset) + ")";
  for (size_t i = offset; i < t.requests.size(); i += k ? k : 1)
    out.requests.push_back(t.requests[i]);
  return out;
}

Trace tail_from(const Trace &t, double fraction) {
  Trace out;
  const auto start = static_cast<size_t>(fraction * static_cast<double>(t.requests.size()));
  out.name = t.name + " (from request " + std::to_string(start) + ")";
  for (size_t i = start; i < t.requests.size(); ++i) out.requests.push_back(t.requests[i]);
  return out;
}

}  // namespace tier::workloads
