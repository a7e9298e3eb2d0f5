// sysfs_read.cpp - readers for sysfs files (see sysfs_read.hpp). Stateless; thread-safe.
#include "topology/sysfs_read.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

namespace tier::sysfs {

std::string join(const std::string &root, const std::string &rel) {
  std::string r = root.empty() ? "/" : root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  size_t start = 0;
  while (start < rel.size() && rel[start] == '/') ++start;
  if (r == "/") return "/" + rel.substr(start);
  return r + "/" + rel.substr(start);
}

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> read_text(const std::string &path) {
  std::ifstream in(path);
  if (!in) return os_error("cannot read " + path, errno ? errno : ENOENT);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

Result<uint64_t> read_u64(const std::string &path) {
  auto text = read_text(path);
  if (!text) return std::move(text).error();
  uint64_t v = 0;
  const std::string &s = *text;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return make_error(TIER_ETOPOLOGY, path + ": expected an unsigned integer, got \"" + s + "\"");
  return v;
}

namespace {

bool to_int(std::string_view s, int &out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

}  // namespace

Result<std::vector<int>> parse_list(const std::string &text) {
  std::vector<int> out;
  std::string_view rest = text;
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back())))
    rest.remove_suffix(1);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view tok = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t dash = tok.find('-');
    int lo = 0, hi = 0;
    bool ok = dash == std::string_view::npos
                  ? (to_int(tok, lo) && (hi = lo, true))
                  : (to_int(tok.substr(0, dash), lo) && to_int(tok.substr(dash + 1), hi));
    if (!ok || hi < lo || hi - lo > (1 << 20))
      return make_error(TIER_ETOPOLOGY,
                        "bad list element \"" + std::string(tok) + "\" in \"" + text + "\"");
    for (int i = lo; i <= hi; ++i) out.push_back(i);
  }
  return out;
}

Result<MemInfo> parse_node_meminfo(const std::string &text) {
  MemInfo info;
  bool have_total = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // "Node 0 MemTotal:       5334816 kB"
    std::istringstream ls(line);
    std::string node_word, node_id, key, unit;
    uint64_t value = 0;
    if (!(ls >> node_word >> node_id >> key >> value)) continue;
    ls >> unit;
    uint64_t mult = unit == "kB" ? 1024 : 1;
    if (key == "MemTotal:") {
      info.total = value * mult;
      have_total = true;
    } else if (key == "MemFree:") {
      info.free = value * mult;
    }
  }
  if (!have_total) return make_error(TIER_ETOPOLOGY, "meminfo has no MemTotal line");
  return info;
}

std::vector<std::string> list_dir(const std::string &path) {
  std::vector<std::string> out;
  DIR *d = ::opendir(path.c_str());
  if (d == nullptr) return out;
  while (dirent *e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tier::sysfs
