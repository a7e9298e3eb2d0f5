// records.cpp - spelling of the pool's records in the coordination store (see records.hpp).
#include "pool/records.hpp"

#include <charconv>
#include <map>
#include <sstream>

namespace tier::pool {

namespace {

Error bad(const std::string &key, const std::string &why) {
  return make_error(TIER_EPROTO, "coordination store key " + key + ": " + why);
}

// "a=1 b=2" -> {a: 1, b: 2}; every word must be key=value.
Result<std::map<std::string, std::string>> words(const std::string &key, const std::string &v) {
  std::map<std::string, std::string> out;
  std::istringstream in(v);
  std::string w;
  while (in >> w) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) return bad(key, "`" + w + "` is not key=value");
    out[w.substr(0, eq)] = w.substr(eq + 1);
  }
  return out;
}

Result<uint64_t> number(const std::string &key, const std::map<std::string, std::string> &m,
                        const std::string &field) {
  auto it = m.find(field);
  if (it == m.end()) return bad(key, "no `" + field + "`");
  uint64_t n = 0;
  const char *b = it->second.data(), *e = b + it->second.size();
  auto [p, ec] = std::from_chars(b, e, n);
  if (ec != std::errc() || p != e || b == e)
    return bad(key, "`" + field + "=" + it->second + "` is not a number");
  return n;
}

}  // namespace

std::string encode(const HostRecord &r) {
  return "generation=" + std::to_string(r.generation) + " pid=" + std::to_string(r.pid);
}

std::string encode(const ExtentRecord &r) {
  return "host=" + std::to_string(r.host) + " offset=" + std::to_string(r.offset) +
         " length=" + std::to_string(r.length) +
         " state=" + (r.releasing ? "releasing" : "granted");
}

std::string encode_demand(uint64_t bytes) {
  return "bytes=" + std::to_string(bytes);
}

Result<uint32_t> host_of_key(const std::string &key, const std::string &dir) {
  if (key.compare(0, dir.size(), dir) != 0) return bad(key, "not under " + dir);
  const std::string rest = key.substr(dir.size());
  uint32_t id = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
  if (ec != std::errc() || p != rest.data() + rest.size() || rest.empty())
    return bad(key, "`" + rest + "` is not a host id");
  return id;
}

Result<Tag> tag_of_key(const std::string &key, const std::string &dir) {
  if (key.compare(0, dir.size(), dir) != 0) return bad(key, "not under " + dir);
  Result<Tag> t = Tag::parse(key.substr(dir.size()));
  if (!t) return bad(key, t.error().message);
  return t;
}

Result<HostRecord> decode_host(const std::string &key, const std::string &dir,
                               const std::string &value) {
  HostRecord r;
  Result<uint32_t> id = host_of_key(key, dir);
  if (!id) return std::move(id).error();
  r.host = *id;
  auto m = words(key, value);
  if (!m) return std::move(m).error();
  Result<uint64_t> g = number(key, *m, "generation");
  if (!g) return std::move(g).error();
  Result<uint64_t> pid = number(key, *m, "pid");
  if (!pid) return std::move(pid).error();
  r.generation = *g;
  r.pid = static_cast<int64_t>(*pid);
  return r;
}

Result<ExtentRecord> decode_extent(const std::string &key, const std::string &dir,
                                   const std::string &value) {
  ExtentRecord r;
  Result<Tag> t = tag_of_key(key, dir);
  if (!t) return std::move(t).error();
  r.tag = *t;
  auto m = words(key, value);
  if (!m) return std::move(m).error();
  Result<uint64_t> host = number(key, *m, "host"), off = number(key, *m, "offset"),
                   len = number(key, *m, "length");
  for (auto *f : {&host, &off, &len})
    if (!*f) return std::move(*f).error();
  if (*host >= UINT32_MAX) return bad(key, "host " + std::to_string(*host) + " is out of range");
  r.host = static_cast<uint32_t>(*host);
  r.offset = *off;
  r.length = *len;
  auto st = m->find("state");
  if (st == m->end() || (st->second != "granted" && st->second != "releasing"))
    return bad(key, "state must be granted or releasing");
  r.releasing = st->second == "releasing";
  return r;
}

Result<uint64_t> decode_demand(const std::string &key, const std::string &value) {
  auto m = words(key, value);
  if (!m) return std::move(m).error();
  return number(key, *m, "bytes");
}

}  // namespace tier::pool
