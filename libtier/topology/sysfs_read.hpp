// sysfs_read.hpp - small readers for the sysfs files topology discovery uses.
//
// All paths are joined onto a root prefix so tests can point discovery at a recorded tree.
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tier::sysfs {

// root + "/" + rel, without doubling slashes ("/" + "sys/..." = "/sys/...").
std::string join(const std::string &root, const std::string &rel);

bool exists(const std::string &path);
// The whole file, trailing whitespace removed. TIER_EOS with errno when unreadable.
Result<std::string> read_text(const std::string &path);
// A single unsigned integer file (e.g. access0/initiators/read_latency).
Result<uint64_t> read_u64(const std::string &path);

// Parses a kernel list ("0-3,8,10-11"; "" = empty). Error names the bad token.
Result<std::vector<int>> parse_list(const std::string &text);

struct MemInfo {
  uint64_t total = 0;  // bytes
  uint64_t free = 0;   // bytes
};
// Parses nodeN/meminfo ("Node 0 MemTotal:  5334816 kB").
Result<MemInfo> parse_node_meminfo(const std::string &text);

// Names in a directory (no "." / ".."), sorted; empty when it does not exist.
std::vector<std::string> list_dir(const std::string &path);

}  // namespace tier::sysfs
