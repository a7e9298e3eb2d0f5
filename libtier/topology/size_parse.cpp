// size_parse.cpp - parsing and printing of capacities (see size_parse.hpp). Thread-safe.
#include "topology/size_parse.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tier {

Result<Capacity> parse_capacity(const std::string &text) {
  auto bad = [&] {
    return make_error(
        TIER_ETOPOLOGY,
        "expected a size like \"16GiB\" or a share like \"25%\", got \"" + text + "\"");
  };
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t num_start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == num_start) return bad();
  std::string number = text.substr(num_start, i - num_start);
  char *end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return bad();
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit = text.substr(i);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();

  Capacity c;
  if (unit == "%") {
    if (value <= 0 || value > 100)
      return make_error(TIER_ETOPOLOGY, "a share must be in (0%, 100%], got \"" + text + "\"");
    c.percent = value;
    return c;
  }
  static const struct {
    const char *unit;
    double mult;
  } kUnits[] = {{"", 1},
                {"B", 1},
                {"K", 1024.0},
                {"KiB", 1024.0},
                {"M", 1048576.0},
                {"MiB", 1048576.0},
                {"G", 1073741824.0},
                {"GiB", 1073741824.0},
                {"T", 1099511627776.0},
                {"TiB", 1099511627776.0},
                {"KB", 1e3},
                {"MB", 1e6},
                {"GB", 1e9},
                {"TB", 1e12}};
  for (const auto &u : kUnits) {
    if (unit != u.unit) continue;
    double bytes = value * u.mult;
    if (bytes < 1 || bytes > 1.8e19)
      return make_error(
          TIER_ETOPOLOGY,
          "capacity must be at least 1 byte and fit in 64 bits, got \"" + text + "\"");
    c.bytes = static_cast<uint64_t>(bytes);
    return c;
  }
  return bad();
}

std::string format_bytes(uint64_t bytes) {
  static const char *kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace tier
