// extent.cpp - tags, extent descriptions and the extent-table checks (see extent.hpp).
#include "pool/extent.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cstdio>

namespace tier::pool {

bool Tag::empty() const {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

std::string Tag::text() const {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[bytes[i] >> 4];
    s += kHex[bytes[i] & 15];
  }
  return s;
}

Result<Tag> Tag::parse(const std::string &text) {
  Tag t;
  size_t n = 0;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    int v = nibble(text[i]);
    if (v < 0 || n >= 32)
      return make_error(TIER_EINVAL, "tag `" + text + "`: expected 32 hex digits (a UUID)");
    t.bytes[n / 2] = static_cast<uint8_t>(t.bytes[n / 2] | (n % 2 ? v : v << 4));
    ++n;
  }
  if (n != 32)
    return make_error(TIER_EINVAL, "tag `" + text + "`: expected 32 hex digits (a UUID)");
  return t;
}

Result<Tag> Tag::random() {
  Tag t;
  if (::getrandom(t.bytes.data(), t.bytes.size(), 0) != static_cast<ssize_t>(t.bytes.size()))
    return os_error("getrandom for an extent tag");
  t.bytes[6] = static_cast<uint8_t>((t.bytes[6] & 0x0f) | 0x40);
  t.bytes[8] = static_cast<uint8_t>((t.bytes[8] & 0x3f) | 0x80);
  return t;
}

const char *state_name(ExtentState state) {
  switch (state) {
    case ExtentState::kOffered:
      return "offered";
    case ExtentState::kAccepted:
      return "accepted";
    case ExtentState::kReleasing:
      return "releasing";
  }
  return "unknown";
}

std::string format_size(uint64_t bytes) {
  static const char *kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  uint64_t v = bytes;
  while (u < 4 && v >= 1024 && v % 1024 == 0) {
    v /= 1024;
    ++u;
  }
  return std::to_string(v) + " " + kUnits[u];
}

std::string Extent::describe() const {
  return "extent " + tag.text() + " [" + format_size(length) + " at " + format_size(offset) + "]";
}

Status validate_table(const std::vector<Extent> &table, const TableLimits &limits,
                      const std::string &where) {
  auto bad = [&](size_t i, const std::string &why) {
    return make_error(TIER_EINVAL, where + ": entry " + std::to_string(i) + " (" +
                                       table[i].describe() + "): " + why);
  };
  const uint64_t align = limits.alignment;
  if (align == 0 || (align & (align - 1)) != 0)
    return make_error(TIER_EINVAL,
                      where + ": alignment " + std::to_string(align) + " is not a power of two");
  for (size_t i = 0; i < table.size(); ++i) {
    const Extent &e = table[i];
    if (e.length == 0) return bad(i, "length is 0");
    if (e.offset % align != 0 || e.length % align != 0)
      return bad(
          i, "offset and length must be multiples of the device's alignment " + format_size(align));
    if (e.offset >= limits.media_bytes || e.length > limits.media_bytes - e.offset)
      return bad(i, "ends at " + format_size(e.end()) + ", beyond the pool's media of " +
                        format_size(limits.media_bytes));
    if (e.tag.empty()) return bad(i, "has no tag");
    if (e.host >= limits.max_hosts)
      return bad(i, "host " + std::to_string(e.host) + " is not below the device's " +
                        std::to_string(limits.max_hosts) + " hosts");
    if (e.state != ExtentState::kOffered && e.state != ExtentState::kAccepted &&
        e.state != ExtentState::kReleasing)
      return bad(i, "unknown state " + std::to_string(static_cast<uint32_t>(e.state)));
    if (e.grant == 0 || e.count == 0 || e.index >= e.count)
      return bad(i, "chain position " + std::to_string(e.index) + " of " + std::to_string(e.count) +
                        " in grant " + std::to_string(e.grant) + " is impossible");
  }
  // Overlaps: sorted by offset, each extent must end where or before the next starts.
  std::vector<size_t> by_offset(table.size());
  for (size_t i = 0; i < table.size(); ++i) by_offset[i] = i;
  std::sort(by_offset.begin(), by_offset.end(),
            [&](size_t a, size_t b) { return table[a].offset < table[b].offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const Extent &prev = table[by_offset[k - 1]];
    if (table[by_offset[k]].offset < prev.end())
      return bad(std::max(by_offset[k], by_offset[k - 1]),
                 "overlaps entry " + std::to_string(std::min(by_offset[k], by_offset[k - 1])) +
                     " (" + table[std::min(by_offset[k], by_offset[k - 1])].describe() + ")");
  }
  std::vector<size_t> by_tag = by_offset;
  std::sort(by_tag.begin(), by_tag.end(),
            [&](size_t a, size_t b) { return table[a].tag < table[b].tag; });
  for (size_t k = 1; k < by_tag.size(); ++k) {
    if (table[by_tag[k]].tag == table[by_tag[k - 1]].tag)
      return bad(
          std::max(by_tag[k], by_tag[k - 1]),
          "tag already granted to entry " + std::to_string(std::min(by_tag[k], by_tag[k - 1])));
  }
  return {};
}

}  // namespace tier::pool
