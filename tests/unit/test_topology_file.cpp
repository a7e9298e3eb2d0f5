// The TOML topology file: virtual nodes, overrides of real nodes, and errors that name the
// file, the line and the field.
#include <catch2/catch.hpp>

#include "topology/size_parse.hpp"
#include "test_topology_util.hpp"

using namespace tier;
using tier::test::fixtures;
using tier::test::small_machine;

namespace {

std::string file(const std::string &name) {
  return fixtures() + "/topology/" + name;
}

// Loads a bad fixture and returns its error message.
std::string error_of(const std::string &name) {
  auto t = load_topology_file(file(name), small_machine());
  REQUIRE_FALSE(t.ok());
  CHECK(t.status() == TIER_ETOPOLOGY);
  return t.error().message;
}

}  // namespace

TEST_CASE("a virtual topology file declares emulated nodes with defaults per kind") {
  auto t = load_topology_file(file("virtual-good.toml"), small_machine());
  INFO((t ? "" : t.error().message));
  REQUIRE(t.ok());
  CHECK(t->emulated);
  CHECK(t->source == "file " + file("virtual-good.toml"));
  REQUIRE(t->nodes.size() == 4);
  CHECK(t->tier_count() == 4);

  const Node *hbm = t->find(1);
  CHECK(hbm->kind == TIER_KIND_HBM);
  CHECK(hbm->tier == 0);
  CHECK(hbm->emulated);
  CHECK(hbm->backing_node == 0);
  CHECK(hbm->capacity == 4ull << 30);  // 25% of the 16 GiB backing node
  CHECK(hbm->read_latency_ns.source == TIER_SOURCE_DEFAULT);
  CHECK(hbm->name == "hbm1");
  CHECK(hbm->kind_source == TIER_SOURCE_FILE);

  const Node *dram = t->find(0);
  CHECK(dram->name == "dram0");
  CHECK(dram->tier == 1);
  CHECK(dram->cpus == std::vector<int>{0, 1});  // runs where its memory is
  CHECK(dram->read_latency_ns.value == 100);
  CHECK(dram->read_latency_ns.source == TIER_SOURCE_FILE);
  CHECK(dram->write_latency_ns.source == TIER_SOURCE_DEFAULT);

  const Node *cxl = t->find(2);
  CHECK(cxl->capacity == 536870912);
  CHECK(cxl->read_bandwidth_mbps.value == 32500);  // GB/s in the file, MB/s inside
  CHECK(cxl->write_latency_ns.value == 280);
  CHECK(cxl->cpuless());
  CHECK(t->find(3)->capacity == 2ull << 30);
  CHECK(t->find(3)->tier == 3);
}

TEST_CASE("an override file changes real nodes' names, figures and capacity limits") {
  auto t = load_topology_file(file("override-good.toml"), small_machine());
  INFO((t ? "" : t.error().message));
  REQUIRE(t.ok());
  CHECK_FALSE(t->emulated);
  CHECK(t->source.find("over test machine") != std::string::npos);
  CHECK(t->find(0)->name == "ddr");
  const Node *n1 = t->find(1);
  CHECK(n1->capacity == 8ull << 30);
  CHECK(n1->total == 32ull << 30);
  CHECK(n1->read_latency_ns.value == 400);
  CHECK(n1->read_latency_ns.source == TIER_SOURCE_FILE);
  // The file gave figures but no kind: the node is classified again from them (4x node 0).
  CHECK(n1->kind == TIER_KIND_CXL_POOL);
  CHECK(n1->kind_reason.find("read latency 4.0x") != std::string::npos);
  CHECK(n1->tier == 1);
}

TEST_CASE("topology file errors name the file, the line and the field") {
  SECTION("a size that is not one") {
    CHECK(error_of("bad-capacity.toml") ==
          file("bad-capacity.toml") +
              ":10: node[1].capacity: expected a size like \"16GiB\" or a share like \"25%\", "
              "got \"16 gigs\"");
  }
  SECTION("a misspelt key") {
    std::string e = error_of("bad-typo.toml");
    CHECK(e.rfind(file("bad-typo.toml") + ":5: node[0].read_latncy_ns: unknown key", 0) == 0);
  }
  SECTION("an unknown kind") {
    CHECK(error_of("bad-kind.toml") ==
          file("bad-kind.toml") +
              ":3: node[0].kind: expected one of \"hbm\", \"dram\", \"cxl\", \"cxl-pool\", got "
              "\"optane\"");
  }
  SECTION("a duplicate id") {
    CHECK(error_of("bad-duplicate.toml") ==
          file("bad-duplicate.toml") + ":8: node[1].id: duplicate id 0 (also node[0])");
  }
  SECTION("a backing node the machine does not have") {
    CHECK(error_of("bad-backing.toml") ==
          file("bad-backing.toml") +
              ":5: node[0].backing: node 7 does not exist on this machine (nodes: 0, 1)");
  }
  SECTION("no DRAM-like node") {
    std::string e = error_of("bad-no-dram.toml");
    CHECK(e.rfind(file("bad-no-dram.toml") + ": no DRAM-like node", 0) == 0);
  }
  SECTION("zero capacity") {
    CHECK(error_of("bad-zero.toml") ==
          file("bad-zero.toml") + ":4: node[0].capacity: capacity must be positive, got 0");
  }
  SECTION("a negative latency") {
    CHECK(error_of("bad-negative-latency.toml") ==
          file("bad-negative-latency.toml") +
              ":5: node[0].read_latency_ns: expected a positive number, got -5");
  }
  SECTION("TOML syntax") {
    std::string e = error_of("bad-syntax.toml");
    CHECK(e.rfind(file("bad-syntax.toml") + ":3: TOML syntax:", 0) == 0);
  }
  SECTION("virtual nodes and overrides mixed") {
    std::string e = error_of("bad-mixed.toml");
    CHECK(e.rfind(file("bad-mixed.toml") + ":7: node[1]: either every node has `backing`", 0) == 0);
  }
  SECTION("a file that does not exist") {
    auto t = load_topology_file(file("no-such.toml"), small_machine());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().sys_errno == ENOENT);
    CHECK(t.error().message.find("no-such.toml") != std::string::npos);
  }
}

TEST_CASE("inline documents: missing fields, wrong types, unknown top-level keys") {
  const Topology m = small_machine();
  auto err = [&](const std::string &text) {
    auto t = parse_topology_toml(text, "x.toml", m);
    REQUIRE_FALSE(t.ok());
    return t.error().message;
  };
  CHECK(err("emulated = 1\n[[node]]\nid = 0\n") ==
        "x.toml:1: emulated: expected true or false, got 1");
  CHECK(err("colour = \"red\"\n").rfind("x.toml:1: colour: unknown key", 0) == 0);
  CHECK(err("emulated = true\n").rfind("x.toml", 0) == 0);
  CHECK(err("[[node]]\nkind = \"dram\"\ncapacity = 1\nbacking = 0\n") ==
        "x.toml:1: node[0].id: missing (every node needs an id)");
  CHECK(err("[[node]]\nid = 0\ncapacity = 1\nbacking = 0\n") ==
        "x.toml:1: node[0].kind: missing (a virtual node needs a kind)");
  CHECK(err("[[node]]\nid = 0\nkind = \"dram\"\nbacking = 0\n") ==
        "x.toml:1: node[0].capacity: missing (a virtual node needs a capacity)");
  CHECK(err("[[node]]\nid = 5\n") ==
        "x.toml:2: node[0].id: no node 5 on this machine (nodes: 0, 1); to declare a virtual "
        "node, give `backing`");
  CHECK(err("[[node]]\nid = -1\n") ==
        "x.toml:2: node[0].id: expected a node number 0..4095, got -1");
  CHECK(err("[[node]]\nid = 0\nkind = \"dram\"\ncapacity = true\nbacking = 0\n") ==
        "x.toml:4: node[0].capacity: expected a size like \"16GiB\" or a byte count, got true");
  CHECK(err("[[node]]\nid = 0\nkind = \"dram\"\ncapacity = \"200%\"\nbacking = 0\n")
            .find("share must be in (0%, 100%]") != std::string::npos);
}

TEST_CASE("capacities parse in binary and decimal units and as shares") {
  CHECK(parse_capacity("16GiB")->bytes == 16ull << 30);
  CHECK(parse_capacity("16 GiB")->bytes == 16ull << 30);
  CHECK(parse_capacity("1.5G")->bytes == 3ull << 29);
  CHECK(parse_capacity("480GB")->bytes == 480000000000ull);
  CHECK(parse_capacity("512")->bytes == 512);
  CHECK(parse_capacity("25%")->percent == 25);
  CHECK_FALSE(parse_capacity("16 gigs").ok());
  CHECK_FALSE(parse_capacity("GiB").ok());
  CHECK_FALSE(parse_capacity("0%").ok());
  CHECK_FALSE(parse_capacity("0.1B").ok());
  CHECK(format_bytes(16ull << 30) == "16.0 GiB");
  CHECK(format_bytes(100) == "100 B");
}

TEST_CASE("an endless or huge topology file is refused after 1 MiB, not read whole") {
  // /dev/zero never ends: reading it whole exhausted memory (bad_alloc) before.
  auto t = load_topology_file("/dev/zero", small_machine());
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().status == TIER_ETOPOLOGY);
  CHECK(t.error().message ==
        "cannot read topology file /dev/zero: larger than 1048576 bytes (is it the file you "
        "meant?)");
}
