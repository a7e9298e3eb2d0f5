// topology.cpp - the Topology model's lookups and the names of kinds and sources.
//
// Pure functions over immutable data; thread-safe.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "topology/topology.hpp"

namespace tier {

const Node *Topology::find(int id) const {
  for (const Node &n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

Node *Topology::find(int id) {
  for (Node &n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

int Topology::tier_count() const {
  int count = 0;
  for (const Node &n : nodes) count = std::max(count, n.tier + 1);
  return count;
}

std::vector<const Node *> Topology::tier_nodes(int tier) const {
  std::vector<const Node *> out;
  for (const Node &n : nodes)
    if (n.tier == tier) out.push_back(&n);
  return out;
}

const char *kind_name(tier_node_kind kind) {
  switch (kind) {
    case TIER_KIND_DRAM:
      return "dram";
    case TIER_KIND_HBM:
      return "hbm";
    case TIER_KIND_CXL:
      return "cxl";
    case TIER_KIND_CXL_POOL:
      return "cxl-pool";
    case TIER_KIND_UNKNOWN:
      break;
  }
  return "unknown";
}

std::optional<tier_node_kind> parse_kind(const std::string &name) {
  static const struct {
    const char *name;
    tier_node_kind kind;
  } kNames[] = {{"dram", TIER_KIND_DRAM},     {"hbm", TIER_KIND_HBM},
                {"cxl", TIER_KIND_CXL},       {"cxl-pool", TIER_KIND_CXL_POOL},
                {"pool", TIER_KIND_CXL_POOL}, {"unknown", TIER_KIND_UNKNOWN}};
  for (const auto &k : kNames)
    if (name == k.name) return k.kind;
  return std::nullopt;
}

const char *source_name(tier_source source) {
  switch (source) {
    case TIER_SOURCE_HWLOC:
      return "hwloc";
    case TIER_SOURCE_SYSFS:
      return "sysfs";
    case TIER_SOURCE_FILE:
      return "file";
    case TIER_SOURCE_PRESET:
      return "preset";
    case TIER_SOURCE_DISTANCE:
      return "distance";
    case TIER_SOURCE_DEFAULT:
      return "default";
    case TIER_SOURCE_NONE:
      break;
  }
  return "none";
}

namespace {

// The latency and bandwidth sources in tier_node_info are one per pair: report the read
// figure's source, or the write figure's when only that one is known.
tier_source pair_source(const Figure &read, const Figure &write) {
  if (read.known()) return read.source;
  return write.known() ? write.source : TIER_SOURCE_NONE;
}

}  // namespace

void to_node_info(const Node &node, uint64_t used, tier_node_info *info) {
  if (info == nullptr) return;
  // Honour the caller's struct size: an older, smaller struct gets only its prefix.
  size_t size = info->size ? std::min(info->size, sizeof(tier_node_info)) : sizeof(tier_node_info);
  tier_node_info full{};
  full.size = size;
  full.id = node.id;
  full.tier = node.tier;
  full.kind = node.kind;
  full.emulated = node.emulated ? 1 : 0;
  full.backing_node = node.backing_node >= 0 ? node.backing_node : node.id;
  full.cpuless = node.cpuless() ? 1 : 0;
  full.capacity = node.capacity;
  full.used = used;
  if (node.emulated)
    full.free = node.capacity > used ? node.capacity - used : 0;
  else
    full.free = node.free;
  full.read_latency_ns = node.read_latency_ns.value;
  full.write_latency_ns = node.write_latency_ns.value;
  full.read_bandwidth_mbps = node.read_bandwidth_mbps.value;
  full.write_bandwidth_mbps = node.write_bandwidth_mbps.value;
  full.latency_source = pair_source(node.read_latency_ns, node.write_latency_ns);
  full.bandwidth_source = pair_source(node.read_bandwidth_mbps, node.write_bandwidth_mbps);
  full.kind_source = node.kind_source;
  std::snprintf(full.kind_reason, sizeof full.kind_reason, "%s", node.kind_reason.c_str());
  if (node.name.empty())
    std::snprintf(full.name, sizeof full.name, "node%d", node.id);
  else
    std::snprintf(full.name, sizeof full.name, "%s", node.name.c_str());
  std::memcpy(info, &full, size);
}

}  // namespace tier
