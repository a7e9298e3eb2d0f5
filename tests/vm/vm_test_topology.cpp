// Runs inside tier-vm (three-node.toml): the kernel, hwloc and Tier's discovery must all find
// the three nodes with the HMAT figures the topology file declared, and Tier must rank them
// HBM-like, DRAM, CXL-like. The expected figures are read from the same file tier-vm booted
// with (TIER_VM_TOPOLOGY_FILE), so the test follows the file if it changes.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "topology/topology.hpp"

namespace {

tier::Topology expected() {
  const char *path = std::getenv("TIER_VM_TOPOLOGY_FILE");
  REQUIRE(path != nullptr);
  auto machine = tier::discover();
  REQUIRE(machine.ok());
  auto t = tier::load_topology_file(path, *machine);
  INFO((t.ok() ? "" : t.error().message));
  REQUIRE(t.ok());
  return *t;
}

std::string slurp_command(const std::string &cmd) {
  std::string out;
  FILE *p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(pclose(p) == 0);
  return out;
}

// "Memory attribute #6 name `ReadLatency' ..." followed by "  NUMANode L#1 = 90 from ...".
std::map<int, double> lstopo_attr(const std::string &text, const std::string &name) {
  std::map<int, double> values;
  std::istringstream in(text);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Memory attribute", 0) == 0) {
      inside = line.find("`" + name + "'") != std::string::npos;
      continue;
    }
    int node = -1;
    double v = 0;
    if (inside && std::sscanf(line.c_str(), " NUMANode L#%d = %lf", &node, &v) == 2)
      values[node] = v;
  }
  return values;
}

double read_number(const std::string &path) {
  FILE *f = std::fopen(path.c_str(), "r");
  INFO(path);
  REQUIRE(f != nullptr);
  double v = -1;
  REQUIRE(std::fscanf(f, "%lf", &v) == 1);
  std::fclose(f);
  return v;
}

}  // namespace

TEST_CASE("the kernel shows the HMAT figures of the topology file in sysfs") {
  const tier::Topology want = expected();
  for (const tier::Node &n : want.nodes) {
    const std::string dir =
        "/sys/devices/system/node/node" + std::to_string(n.id) + "/access0/initiators/";
    INFO("node " << n.id);
    CHECK(read_number(dir + "read_latency") == n.read_latency_ns.value);
    CHECK(read_number(dir + "write_latency") == n.write_latency_ns.value);
    CHECK(read_number(dir + "read_bandwidth") == n.read_bandwidth_mbps.value);
    CHECK(read_number(dir + "write_bandwidth") == n.write_bandwidth_mbps.value);
  }
}

TEST_CASE("lstopo --memattrs reports the same latencies and bandwidths") {
  const tier::Topology want = expected();
  const std::string text = slurp_command("lstopo-no-graphics --memattrs");
  const auto rl = lstopo_attr(text, "ReadLatency"), wl = lstopo_attr(text, "WriteLatency");
  const auto rb = lstopo_attr(text, "ReadBandwidth"), wb = lstopo_attr(text, "WriteBandwidth");
  INFO(text);
  REQUIRE(rl.size() == want.nodes.size());
  // Logical and OS indexes agree on this machine: nodes are 0..n-1 in both.
  for (const tier::Node &n : want.nodes) {
    INFO("node " << n.id);
    CHECK(rl.at(n.id) == n.read_latency_ns.value);
    CHECK(wl.at(n.id) == n.write_latency_ns.value);
    CHECK(rb.at(n.id) == n.read_bandwidth_mbps.value);
    CHECK(wb.at(n.id) == n.write_bandwidth_mbps.value);
  }
}

TEST_CASE("Tier's discovery finds the nodes through hwloc, classifies and ranks them") {
  const tier::Topology want = expected();
  auto got = tier::discover();
  REQUIRE(got.ok());
  INFO("source: " << got->source);
  REQUIRE(got->nodes.size() == want.nodes.size());
  REQUIRE_FALSE(got->emulated);
  for (const tier::Node &w : want.nodes) {
    const tier::Node *n = got->find(w.id);
    REQUIRE(n != nullptr);
    INFO("node " << w.id << " classified " << tier::kind_name(n->kind) << ": " << n->kind_reason);
    CHECK(n->read_latency_ns.value == w.read_latency_ns.value);
    CHECK(n->read_bandwidth_mbps.value == w.read_bandwidth_mbps.value);
    CHECK(n->read_latency_ns.source == TIER_SOURCE_HWLOC);
    CHECK(n->cpuless() == (w.kind != TIER_KIND_DRAM));
    CHECK(n->kind == w.kind);
  }
  // The file's own ranking (from its declared figures) is what discovery must reproduce.
  for (const tier::Node &w : want.nodes) CHECK(got->find(w.id)->tier == w.tier);
  const tier::Node *hbm = got->find(1), *dram = got->find(0), *cxl = got->find(2);
  CHECK(hbm->tier < dram->tier);
  CHECK(dram->tier < cxl->tier);
}
