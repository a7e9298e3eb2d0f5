// topology.hpp - the machine's memory nodes, their kinds and their tier ranking.
//
// A Topology is built once (discovery, a topology file, or an emulation preset), then
// classified and ranked, and is immutable afterwards except for the runtime's capacity
// limits, which live in the allocator. Nodes are always looked up by id (the OS index on a
// real machine, the declared id on an emulated one), never by position.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tier/tier.h"

namespace tier {

// A measured or declared figure and where it came from.
struct Figure {
  double value = 0;  // ns for latencies, MB/s for bandwidths; 0 = unknown
  tier_source source = TIER_SOURCE_NONE;
  bool known() const { return value > 0; }
};

struct Node {
  int id = -1;
  std::string name;
  tier_node_kind kind = TIER_KIND_UNKNOWN;
  tier_source kind_source = TIER_SOURCE_NONE;
  std::string kind_reason;  // which figure or hint decided the kind
  int tier = -1;            // rank after rank_tiers(); 0 = fastest

  uint64_t capacity = 0;  // bytes Tier may place here (enforced limit)
  uint64_t total = 0;     // bytes the OS reports (0 for virtual nodes)
  uint64_t free = 0;      // bytes the OS reports free at discovery

  Figure read_latency_ns, write_latency_ns;
  Figure read_bandwidth_mbps, write_bandwidth_mbps;

  std::vector<int> cpus;  // OS indexes of local CPUs
  bool cpuless() const { return cpus.empty(); }

  // Hints discovery found (used by classify()).
  bool dax_kmem = false;  // memory onlined from a DAX device (typical of CXL/PMem)
  int memory_tier = -1;   // /sys/devices/virtual/memory_tiering memory_tierN, if any
  int hbm_hint = 0;       // hwloc subtype "HBM" / "MCDRAM" seen

  bool emulated = false;
  int backing_node = -1;  // OS node that holds the memory (== id when real)
};

struct Topology {
  std::vector<Node> nodes;  // in tier order after rank_tiers()
  // distance[i][j] between nodes[i] and nodes[j] as the OS reports it (empty if unknown).
  std::vector<std::vector<int>> distance;
  std::string source;  // "hwloc", "sysfs", "file <path>", "preset default"
  bool emulated = false;

  const Node *find(int id) const;
  Node *find(int id);
  int tier_count() const;
  std::vector<const Node *> tier_nodes(int tier) const;
};

// Discovery on this machine: hwloc 2.x memattrs (HMAT) first, sysfs as fallback. Honours
// HWLOC_XMLFILE / HWLOC_FSROOT (hwloc's own variables) and `sysfs_root` for the fallback,
// so tests run on recorded machines. The result is classified and ranked.
struct DiscoverOptions {
  std::string sysfs_root = "/";  // prefix for /sys paths in the sysfs fallback
  bool use_hwloc = true;
};
Result<Topology> discover(const DiscoverOptions &options = {});
Result<Topology> discover_hwloc();
Result<Topology> discover_sysfs(const std::string &root);

// Parses a TOML topology file (format: docs/topology-file.md). `machine` is the discovered
// topology: a file may refer to its nodes (`backing`, or `override` of a real node).
// Errors name the file, line and field.
Result<Topology> load_topology_file(const std::string &path, const Topology &machine);
Result<Topology> parse_topology_toml(const std::string &text, const std::string &origin,
                                     const Topology &machine);

// Built-in emulation presets ("default", "xeon-max-flat", "gh200", "dram-2cxl",
// "cxl-switched-pool"), scaled to the machine's memory where the preset says so.
std::vector<std::string> preset_names();
// A preset's TOML text with its nodes backed by OS node `backing_node` (nullopt if unknown):
// what `tierctl` prints and what tools turn into QEMU arguments.
std::optional<std::string> preset_text(const std::string &name, int backing_node);
Result<Topology> load_preset(const std::string &name, const Topology &machine);

// What a runtime uses: `spec` as in tier_runtime_options.topology (NULL/"" = environment
// TIER_TOPOLOGY, then discovery, then the `default` preset when the machine has one node).
Result<Topology> resolve_topology(const char *spec);

// Checks a topology is usable: at least one DRAM-like node, capacities > 0, unique ids,
// backing nodes that exist on `machine`. Error names the offending node.
Status validate(const Topology &topology, const Topology *machine);

// Sets kind/kind_source/kind_reason of every node whose kind is still unknown.
void classify(Topology &topology);
// Orders nodes fastest first and assigns tier ranks (rule: docs/topology.md).
void rank_tiers(Topology &topology);

const char *kind_name(tier_node_kind kind);  // "dram", "hbm", "cxl", "cxl-pool", "unknown"
std::optional<tier_node_kind> parse_kind(const std::string &name);
const char *source_name(tier_source source);  // "hwloc", "sysfs", "file", ...

// Fills the C ABI struct from a node.
void to_node_info(const Node &node, uint64_t used, tier_node_info *info);

}  // namespace tier
