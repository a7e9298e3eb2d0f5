// Discovery, classification and ranking on recorded machines (tests/fixtures/machines), through
// each path: Tier's sysfs reader, hwloc on the sysfs tree (HWLOC_FSROOT), hwloc XML
// (HWLOC_XMLFILE).
#include <catch2/catch.hpp>

#include "topology/sysfs_read.hpp"
#include "test_topology_util.hpp"

using namespace tier;
using tier::test::machine_dir;
using tier::test::ScopedEnv;

namespace {

enum class Path { Sysfs, HwlocFsroot, HwlocXml };

Topology load(const std::string &machine, Path path) {
  ScopedEnv xml("HWLOC_XMLFILE", path == Path::HwlocXml ? std::optional<std::string>(
                                                              machine_dir(machine) + "/hwloc.xml")
                                                        : std::nullopt);
  ScopedEnv fsroot("HWLOC_FSROOT", path == Path::HwlocFsroot
                                       ? std::optional<std::string>(machine_dir(machine) + "/sysfs")
                                       : std::nullopt);
  DiscoverOptions o;
  o.use_hwloc = path != Path::Sysfs;
  o.sysfs_root = machine_dir(machine) + "/sysfs";
  auto t = discover(o);
  INFO((t ? std::string() : t.error().message));
  REQUIRE(t.ok());
  return std::move(*t);
}

const char *path_name(Path p) {
  return p == Path::Sysfs ? "sysfs" : p == Path::HwlocFsroot ? "hwloc fsroot" : "hwloc xml";
}

tier_source figure_source(Path p) {
  return p == Path::Sysfs ? TIER_SOURCE_SYSFS : TIER_SOURCE_HWLOC;
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("Xeon Max flat mode: HBM nodes rank above DRAM, one tier per kind") {
  for (Path p : {Path::Sysfs, Path::HwlocFsroot, Path::HwlocXml}) {
    INFO(path_name(p));
    Topology t = load("xeon-max-flat", p);
    REQUIRE(t.nodes.size() == 4);
    REQUIRE(t.tier_count() == 2);
    for (int id : {2, 3}) {
      const Node *n = t.find(id);
      REQUIRE(n != nullptr);
      CHECK(n->kind == TIER_KIND_HBM);
      CHECK(n->tier == 0);
      CHECK(n->cpuless());
      CHECK(n->kind_source == figure_source(p));
      CHECK(contains(n->kind_reason, "read bandwidth 3.3x the DRAM reference (node 0)"));
      CHECK(n->read_bandwidth_mbps.value == 1000000);
      CHECK(n->read_bandwidth_mbps.source == figure_source(p));
      CHECK(n->capacity == 16ull << 30);
    }
    for (int id : {0, 1}) {
      const Node *n = t.find(id);
      CHECK(n->kind == TIER_KIND_DRAM);
      CHECK(n->tier == 1);  // 110 vs 111 ns share a tier
      CHECK(n->cpus.size() == 4);
    }
    CHECK(t.find(1)->cpus.front() == 4);
    // Ordered by (tier, id), distances permuted along.
    CHECK(t.nodes[0].id == 2);
    CHECK(t.nodes[1].id == 3);
    CHECK(t.nodes[2].id == 0);
    REQUIRE(t.distance.size() == 4);
    CHECK(t.distance[2][3] == 21);  // node 0 -> node 1
    CHECK(t.distance[2][0] == 13);  // node 0 -> its HBM, node 2
  }
}

TEST_CASE("two CXL expanders: CPU-less nodes at ~2.5x DRAM latency are cxl, one tier") {
  for (Path p : {Path::Sysfs, Path::HwlocFsroot, Path::HwlocXml}) {
    INFO(path_name(p));
    Topology t = load("dram-2cxl", p);
    REQUIRE(t.tier_count() == 2);
    CHECK(t.find(0)->kind == TIER_KIND_DRAM);
    CHECK(t.find(0)->tier == 0);
    for (int id : {1, 2}) {
      const Node *n = t.find(id);
      CHECK(n->kind == TIER_KIND_CXL);
      CHECK(n->tier == 1);  // 245 and 250 ns are within 15%
      CHECK(n->kind_source == figure_source(p));
      CHECK(contains(n->kind_reason, "CPU-less, read latency 2."));
    }
    // Within a tier nodes are ordered by id, whatever their latency.
    CHECK(t.nodes[1].id == 1);
    CHECK(t.find(2)->read_bandwidth_mbps.value == 64000);
    if (p != Path::HwlocXml) {
      CHECK(t.find(1)->dax_kmem);
      CHECK(t.find(1)->memory_tier == 14);
      CHECK(t.find(1)->free == 64ull << 30);
    }
  }
}

TEST_CASE("GH200: HBM3 as a CPU-less node ranks first by bandwidth despite higher latency") {
  for (Path p : {Path::Sysfs, Path::HwlocFsroot, Path::HwlocXml}) {
    INFO(path_name(p));
    Topology t = load("gh200", p);
    REQUIRE(t.nodes.size() == 2);
    const Node *hbm = t.find(1);
    CHECK(hbm->kind == TIER_KIND_HBM);
    CHECK(hbm->tier == 0);
    CHECK(contains(hbm->kind_reason, "8.0x"));
    CHECK(hbm->capacity == 96000000000ull);
    CHECK(t.find(0)->kind == TIER_KIND_DRAM);
    CHECK(t.find(0)->tier == 1);
    CHECK(t.find(0)->cpus.size() == 8);
  }
}

TEST_CASE("without HMAT: kernel memory tiers, else distance, decide CXL and pool") {
  Topology s = load("cxl-nohmat", Path::Sysfs);
  CHECK(s.find(0)->kind == TIER_KIND_DRAM);
  CHECK(s.find(0)->kind_source == TIER_SOURCE_SYSFS);
  CHECK(s.find(1)->kind == TIER_KIND_CXL);
  CHECK(s.find(1)->kind_source == TIER_SOURCE_SYSFS);
  CHECK(contains(s.find(1)->kind_reason, "memory_tier22 below DRAM's memory_tier4"));
  CHECK(s.find(2)->kind == TIER_KIND_CXL_POOL);
  CHECK(s.tier_count() == 3);
  CHECK(s.find(2)->tier == 2);
  CHECK_FALSE(s.find(1)->read_latency_ns.known());

  // The XML carries no kernel hints: the NUMA distance is all there is.
  Topology x = load("cxl-nohmat", Path::HwlocXml);
  CHECK(x.find(1)->kind == TIER_KIND_CXL);
  CHECK(x.find(1)->kind_source == TIER_SOURCE_DISTANCE);
  CHECK(x.find(1)->kind_reason == "CPU-less, distance 20 vs 10");
  CHECK(x.find(2)->tier > x.find(1)->tier);
}

TEST_CASE("this machine is discovered, and every node is classified and ranked") {
  auto t = discover();
  REQUIRE(t.ok());
  REQUIRE_FALSE(t->nodes.empty());
  for (const Node &n : t->nodes) {
    CHECK(n.tier >= 0);
    CHECK(n.capacity > 0);
    CHECK(n.backing_node == n.id);
    CHECK_FALSE(n.emulated);
  }
  CHECK(validate(*t, nullptr).ok());
}

TEST_CASE("sysfs fallback on a missing tree says where it looked") {
  auto t = discover_sysfs("/nonexistent-root");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status() == TIER_ETOPOLOGY);
  CHECK(contains(t.error().message, "/nonexistent-root/sys/devices/system/node"));
}

TEST_CASE("kernel lists and meminfo parse, and bad ones are refused") {
  auto l = sysfs::parse_list("0-3,8,10-11");
  REQUIRE(l.ok());
  CHECK(*l == std::vector<int>{0, 1, 2, 3, 8, 10, 11});
  CHECK(sysfs::parse_list("").value().empty());
  CHECK_FALSE(sysfs::parse_list("3-1").ok());
  CHECK_FALSE(sysfs::parse_list("a").ok());
  auto mi = sysfs::parse_node_meminfo("Node 0 MemTotal:  100 kB\nNode 0 MemFree:  40 kB\n");
  REQUIRE(mi.ok());
  CHECK(mi->total == 102400);
  CHECK(mi->free == 40960);
  CHECK_FALSE(sysfs::parse_node_meminfo("garbage").ok());
}

TEST_CASE("to_node_info fills the C struct and honours an older, smaller size") {
  Topology t = load("dram-2cxl", Path::Sysfs);
  tier_node_info info{};
  info.size = sizeof info;
  to_node_info(*t.find(1), 4096, &info);
  CHECK(info.id == 1);
  CHECK(info.kind == TIER_KIND_CXL);
  CHECK(info.tier == 1);
  CHECK(info.cpuless == 1);
  CHECK(info.backing_node == 1);
  CHECK(info.used == 4096);
  CHECK(info.read_latency_ns == 250);
  CHECK(info.latency_source == TIER_SOURCE_SYSFS);
  CHECK(std::string(info.name) == "node1");
  CHECK(contains(info.kind_reason, "read latency 2.5x"));

  tier_node_info small{};
  small.size = offsetof(tier_node_info, capacity);
  small.capacity = 77;
  to_node_info(*t.find(1), 0, &small);
  CHECK(small.id == 1);
  CHECK(small.capacity == 77);  // beyond the caller's size: untouched
}

TEST_CASE("kind and source names round-trip") {
  for (tier_node_kind k : {TIER_KIND_DRAM, TIER_KIND_HBM, TIER_KIND_CXL, TIER_KIND_CXL_POOL})
    CHECK(parse_kind(kind_name(k)) == k);
  CHECK_FALSE(parse_kind("optane").has_value());
  CHECK(std::string(source_name(TIER_SOURCE_HWLOC)) == "hwloc");
  CHECK(std::string(source_name(TIER_SOURCE_DEFAULT)) == "default");
}
