// vm_plan.hpp - from a Topology to a small QEMU machine: NUMA nodes, CPUs, memory sizes,
// distances and ACPI HMAT latency/bandwidth entries.
//
// Rules (docs/emulation.md, "tier-vm"):
//  - Every topology node becomes one VM node; VM node ids are 0..n-1 in order of topology id
//    (QEMU needs them dense), so a file that numbers its nodes 0..n-1 keeps its ids.
//  - DRAM (and unknown-kind) nodes get the vCPUs, round-robin; hbm, cxl and cxl-pool nodes are
//    CPU-less, with the nearest CPU node as their HMAT initiator.
//  - Memory is scaled down: each node gets a floor (enough for a 256 MiB test buffer plus the
//    kernel's own per-node structures), and the rest of the VM's memory in proportion to the
//    declared capacities, in 2 MiB steps.
//  - HMAT: the node's own figures from its initiator; from any other CPU node, latency grows
//    and bandwidth shrinks by the ratio of the NUMA distances.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "topology/topology.hpp"

namespace tier::vm {

struct PlanOptions {
  uint64_t memory_mib = 0;  // 0 = max(2048, sum of the floors)
  int cpus = 2;
  uint64_t cpu_node_floor_mib = 512;      // kernel, initramfs and the test binaries live here
  uint64_t cpuless_node_floor_mib = 384;  // a 256 MiB buffer plus struct pages and slack
};

struct VmNode {
  int vm_id = -1;
  int topo_id = -1;
  std::string name;
  tier_node_kind kind = TIER_KIND_UNKNOWN;
  uint64_t capacity = 0;  // declared bytes
  uint64_t memory_mib = 0;
  std::vector<int> cpus;  // vCPU indexes
  int initiator = -1;     // VM id of the CPU node that reaches it best (itself for CPU nodes)
  double read_latency_ns = 0, write_latency_ns = 0;
  double read_bandwidth_mbps = 0, write_bandwidth_mbps = 0;
};

struct HmatEntry {
  int initiator = -1, target = -1;
  uint64_t read_latency_ns = 0, write_latency_ns = 0;
  uint64_t read_bandwidth_mbps = 0, write_bandwidth_mbps = 0;
};

struct VmPlan {
  std::vector<VmNode> nodes;  // by vm_id
  uint64_t memory_mib = 0;
  int cpus = 0;
  std::vector<std::vector<int>> distance;  // [vm_id][vm_id], SLIT values (10 = local)
  std::vector<HmatEntry> hmat;             // every CPU node x every node

  // QEMU arguments for memory, CPUs, NUMA nodes, distances and HMAT (no kernel, no console).
  std::vector<std::string> qemu_args() const;
  // A human-readable table of the mapping (printed by tier-vm before it boots).
  std::string describe() const;
};

Result<VmPlan> plan_vm(const Topology &topology, const PlanOptions &options = {});

}  // namespace tier::vm
