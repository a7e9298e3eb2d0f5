// extent.hpp - dynamic-capacity extents of a CXL 3.1 pool, and the checks every extent table
// passes before anything acts on it.
//
// An extent is what the proposed Linux DCD ABI shows as dax_regionX/extentX.Y/{offset,length,
// uuid}: a range of the pool's media (offset and length from the start of the media, both
// multiples of the device's alignment) carrying a 16-byte tag. A grant of several extents is one
// "more" chain: every extent of the chain carries the same grant number, its index in the chain
// and the chain's length, as the DCD event records do with their "more" flag.
//
// validate_table() is the one place that decides whether a table is sane; the file backend runs
// it on every table it reads and on every table it is about to write, so a bad table is refused
// with the extent that breaks it named and nothing is written.
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tier::pool {

// The 16-byte tag of an extent (a UUID in the DCD ABI). All zeroes is "no tag" and is refused
// on a granted extent: the tag is how host, manager and device name the same capacity.
struct Tag {
  std::array<uint8_t, 16> bytes{};

  bool empty() const;
  // 32 lowercase hex digits with the UUID dashes (8-4-4-4-12).
  std::string text() const;
  // Parses text() (dashes optional). TIER_EINVAL naming the text otherwise.
  static Result<Tag> parse(const std::string &text);
  // A fresh random tag (getrandom; version-4 UUID bits set).
  static Result<Tag> random();

  friend bool operator==(const Tag &a, const Tag &b) { return a.bytes == b.bytes; }
  friend bool operator<(const Tag &a, const Tag &b) { return a.bytes < b.bytes; }
};

// Where an extent is in its life on the device. The names follow the DCD mailbox commands.
enum class ExtentState : uint32_t {
  kOffered = 1,    // the manager added it for a host (Add Capacity event); not yet accepted
  kAccepted = 2,   // the host accepted it (Add Dynamic Capacity Response): its capacity now
  kReleasing = 3,  // the manager asked for it back (Release Capacity event); still the host's
};
const char *state_name(ExtentState state);  // "offered", "accepted", "releasing"

inline constexpr uint32_t kNoHost = UINT32_MAX;

struct Extent {
  uint64_t offset = 0;  // from the start of the pool's media
  uint64_t length = 0;
  Tag tag;
  uint32_t host = kNoHost;  // the host it is offered to or held by
  ExtentState state = ExtentState::kOffered;
  uint64_t grant = 0;            // the grant (more chain) it belongs to, > 0
  uint32_t index = 0;            // its position in the chain, 0-based
  uint32_t count = 1;            // the chain's length; "more" is index + 1 < count
  uint64_t host_generation = 0;  // the host's generation when it was offered

  uint64_t end() const { return offset + length; }
  bool more() const { return index + 1 < count; }
  // "extent 3f2a...-... [64 MiB at 128 MiB]", for messages.
  std::string describe() const;
};

struct TableLimits {
  uint64_t media_bytes = 0;  // extents lie within [0, media_bytes)
  uint64_t alignment = 0;    // offsets and lengths are multiples of it (a power of two)
  uint32_t max_hosts = 0;    // host ids are < max_hosts
};

// Checks one table: every extent non-empty, aligned, inside the media, with a tag, a host below
// max_hosts, a known state and a consistent chain position; no two extents overlap and no tag
// appears twice. TIER_EINVAL naming the first extent (by position) that breaks a rule and why;
// `where` prefixes the message ("/dev/shm/pool: extent table").
Status validate_table(const std::vector<Extent> &table, const TableLimits &limits,
                      const std::string &where);

// "64 MiB", "2 GiB", "4096 B": for messages and tierctl.
std::string format_size(uint64_t bytes);

}  // namespace tier::pool
