// validate.cpp - refuses topologies Tier cannot run on, naming the offending node.
// Pure function; thread-safe.
#include <set>
#include <string>

#include "topology/topology.hpp"

namespace tier {

namespace {

std::string label(const Node &n) {
  std::string s = "node " + std::to_string(n.id);
  if (!n.name.empty() && n.name != "node" + std::to_string(n.id)) s += " (" + n.name + ")";
  return s;
}

}  // namespace

Status validate(const Topology &t, const Topology *machine) {
  auto fail = [](const std::string &msg) { return Status(make_error(TIER_ETOPOLOGY, msg)); };
  if (t.nodes.empty()) return fail("the topology has no node");
  std::set<int> ids;
  bool dram_like = false;
  for (const Node &n : t.nodes) {
    if (n.id < 0) return fail(label(n) + ": negative id");
    if (!ids.insert(n.id).second) return fail(label(n) + ": duplicate id " + std::to_string(n.id));
    if (n.capacity == 0) return fail(label(n) + ": capacity is 0");
    for (const Figure *f :
         {&n.read_latency_ns, &n.write_latency_ns, &n.read_bandwidth_mbps, &n.write_bandwidth_mbps})
      if (f->value < 0) return fail(label(n) + ": negative latency or bandwidth");
    if (n.emulated && machine != nullptr && machine->find(n.backing_node) == nullptr)
      return fail(label(n) + ": backing node " + std::to_string(n.backing_node) +
                  " does not exist on this machine");
    // DRAM-like: where the process's own memory and CPUs live; every tier falls back there.
    if (n.kind == TIER_KIND_DRAM || (!n.cpuless() && !n.emulated)) dram_like = true;
  }
  if (!dram_like)
    return fail(
        "no DRAM-like node (a node of kind \"dram\", or a real node with CPUs); "
        "Tier needs one to fall back to");
  return {};
}

}  // namespace tier
