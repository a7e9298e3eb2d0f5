// presets.cpp - the built-in emulation topologies, as TOML parsed by the topology-file
// parser, so a preset is exactly a file a user could have written (docs/topology-file.md
// lists each preset's figures and their sources).
//
// Every preset is backed by the machine's DRAM reference node (its lowest-numbered node
// with CPUs; `{B}` in the text) and sets scale_to_fit, so capacities beyond half of that
// node's memory shrink by one common factor, keeping their ratios. Thread-safe.
#include <string>

#include "topology/topology.hpp"

namespace tier {

namespace {

struct Preset {
  const char *name;
  const char *text;
};

// Physical figures: DESIGN.md "Physical figures" and the sources in docs/topology-file.md.
const Preset kPresets[] = {
    {"default",
     R"TOML(description = "HBM + DRAM + CXL expander + CXL pool, sized as shares of the machine"
emulated = true
scale_to_fit = true

[[node]]
id = 0
name = "dram0"
kind = "dram"
capacity = "4%"
read_latency_ns = 100
write_latency_ns = 100
read_bandwidth_gbps = 300
write_bandwidth_gbps = 300
backing = {B}

[[node]]
id = 1
name = "hbm0"
kind = "hbm"
capacity = "1%"
read_latency_ns = 130
write_latency_ns = 130
read_bandwidth_gbps = 1000
write_bandwidth_gbps = 1000
backing = {B}

[[node]]
id = 2
name = "cxl0"
kind = "cxl"
capacity = "8%"
read_latency_ns = 250
write_latency_ns = 250
read_bandwidth_gbps = 64
write_bandwidth_gbps = 64
backing = {B}

[[node]]
id = 3
name = "pool0"
kind = "cxl-pool"
capacity = "16%"
read_latency_ns = 350
write_latency_ns = 350
read_bandwidth_gbps = 32
write_bandwidth_gbps = 32
backing = {B}
)TOML"},
    {"xeon-max-flat",
     R"TOML(description = "2-socket Xeon Max 9480, flat memory mode: DDR5 + HBM2e node per socket"
emulated = true
scale_to_fit = true

[[node]]
id = 0
name = "ddr-s0"
kind = "dram"
capacity = "256GiB"
read_latency_ns = 110
write_latency_ns = 110
read_bandwidth_gbps = 300
write_bandwidth_gbps = 300
backing = {B}

[[node]]
id = 1
name = "ddr-s1"
kind = "dram"
capacity = "256GiB"
read_latency_ns = 110
write_latency_ns = 110
read_bandwidth_gbps = 300
write_bandwidth_gbps = 300
backing = {B}

[[node]]
id = 2
name = "hbm-s0"
kind = "hbm"
capacity = "16GiB"
read_latency_ns = 130
write_latency_ns = 130
read_bandwidth_gbps = 1000
write_bandwidth_gbps = 1000
backing = {B}

[[node]]
id = 3
name = "hbm-s1"
kind = "hbm"
capacity = "16GiB"
read_latency_ns = 130
write_latency_ns = 130
read_bandwidth_gbps = 1000
write_bandwidth_gbps = 1000
backing = {B}
)TOML"},
    {"gh200", R"TOML(description = "NVIDIA GH200: Grace LPDDR5X with CPUs + HBM3 as a CPU-less node"
emulated = true
scale_to_fit = true

[[node]]
id = 0
name = "lpddr5x"
kind = "dram"
capacity = "480GB"
read_latency_ns = 120
write_latency_ns = 120
read_bandwidth_gbps = 500
write_bandwidth_gbps = 500
backing = {B}

[[node]]
id = 1
name = "hbm3"
kind = "hbm"
capacity = "96GB"
read_latency_ns = 300
write_latency_ns = 300
read_bandwidth_gbps = 4000
write_bandwidth_gbps = 4000
backing = {B}
)TOML"},
    {"dram-2cxl", R"TOML(description = "DDR5 socket + two CXL type-3 expanders (x8 and x16)"
emulated = true
scale_to_fit = true

[[node]]
id = 0
name = "ddr"
kind = "dram"
capacity = "256GiB"
read_latency_ns = 100
write_latency_ns = 100
read_bandwidth_gbps = 300
write_bandwidth_gbps = 300
backing = {B}

[[node]]
id = 1
name = "cxl-x8"
kind = "cxl"
capacity = "128GiB"
read_latency_ns = 250
write_latency_ns = 250
read_bandwidth_gbps = 32
write_bandwidth_gbps = 32
backing = {B}

[[node]]
id = 2
name = "cxl-x16"
kind = "cxl"
capacity = "256GiB"
read_latency_ns = 250
write_latency_ns = 250
read_bandwidth_gbps = 64
write_bandwidth_gbps = 64
backing = {B}
)TOML"},
    {"cxl-switched-pool", R"TOML(description = "DDR5 socket + CXL 3.1 memory pool behind a switch"
emulated = true
scale_to_fit = true

[[node]]
id = 0
name = "ddr"
kind = "dram"
capacity = "256GiB"
read_latency_ns = 100
write_latency_ns = 100
read_bandwidth_gbps = 300
write_bandwidth_gbps = 300
backing = {B}

[[node]]
id = 1
name = "pool"
kind = "cxl-pool"
capacity = "1TiB"
read_latency_ns = 350
write_latency_ns = 350
read_bandwidth_gbps = 32
write_bandwidth_gbps = 32
backing = {B}
)TOML"},
};

// The node presets are backed by: the lowest-numbered real node with CPUs, else the first.
int backing_node(const Topology &machine) {
  int best = -1;
  for (const Node &n : machine.nodes)
    if (!n.cpuless() && (best < 0 || n.id < best)) best = n.id;
  if (best < 0 && !machine.nodes.empty()) best = machine.nodes.front().id;
  return best;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset &p : kPresets) names.emplace_back(p.name);
  return names;
}

std::optional<std::string> preset_text(const std::string &name, int backing) {
  for (const Preset &p : kPresets) {
    if (name != p.name) continue;
    std::string text = p.text;
    const std::string token = "{B}";
    for (size_t pos; (pos = text.find(token)) != std::string::npos;)
      text.replace(pos, token.size(), std::to_string(backing));
    return text;
  }
  return std::nullopt;
}

Result<Topology> load_preset(const std::string &name, const Topology &machine) {
  int backing = backing_node(machine);
  if (backing < 0)
    return make_error(TIER_ETOPOLOGY, "preset " + name + ": the machine has no node to back it");
  auto text = preset_text(name, backing);
  if (!text) {
    std::string known;
    for (const std::string &n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    return make_error(TIER_ETOPOLOGY, "no preset named \"" + name + "\" (presets: " + known + ")");
  }
  return parse_topology_toml(*text, "preset " + name, machine);
}

}  // namespace tier
