// config_size.cpp - byte sizes in tierd's config and flags: "256MiB", "1.5GiB", "0".
// Unlike topology capacities, 0 is a valid size here (0 = no quota / no rate limit) and
// shares ("25%") are not. Integer sizes are computed exactly; only a fractional number
// goes through double. Stateless; thread-safe.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "config.hpp"
#include "config_keys.hpp"

namespace tier::daemon {

namespace {

struct Unit {
  const char *name;
  uint64_t mult;
};

constexpr Unit kUnits[] = {
    {"", 1},
    {"B", 1},
    {"K", 1ull << 10},
    {"KiB", 1ull << 10},
    {"M", 1ull << 20},
    {"MiB", 1ull << 20},
    {"G", 1ull << 30},
    {"GiB", 1ull << 30},
    {"T", 1ull << 40},
    {"TiB", 1ull << 40},
    {"KB", 1000},
    {"MB", 1000000},
    {"GB", 1000000000},
    {"TB", 1000000000000},
};

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return make_error(TIER_ECONFIG, "expected a size like \"256MiB\", got " + detail::quote(text));
  };
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t num_start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string_view number = text.substr(num_start, i - num_start);
  if (number.empty()) return bad();
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string_view unit = text.substr(i);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back())))
    unit.remove_suffix(1);

  const Unit *u = nullptr;
  for (const Unit &cand : kUnits)
    if (unit == cand.name) u = &cand;
  if (u == nullptr) return bad();

  auto too_big = [&] {
    return make_error(TIER_ECONFIG, "size " + detail::quote(text) + " does not fit in 64 bits");
  };
  if (number.find('.') == std::string_view::npos) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (ec == std::errc::result_out_of_range) return too_big();
    if (ec != std::errc() || end != number.data() + number.size()) return bad();
    if (n != 0 && u->mult > UINT64_MAX / n) return too_big();
    return n * u->mult;
  }
  std::string copy(number);
  char *end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return bad();
  double bytes = std::round(value * static_cast<double>(u->mult));
  if (bytes >= 18446744073709551615.0) return too_big();
  return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t bytes) {
  static const Unit kBinary[] = {
      {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}};
  if (bytes == 0) return "0";
  for (const Unit &u : kBinary)
    if (bytes % u.mult == 0) return std::to_string(bytes / u.mult) + u.name;
  return std::to_string(bytes);
}

}  // namespace tier::daemon
