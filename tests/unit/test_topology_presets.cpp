// Presets load, validate and fit the machine; resolve_topology's precedence.
#include <catch2/catch.hpp>

#include "test_topology_util.hpp"

using namespace tier;
using tier::test::fixtures;
using tier::test::ScopedEnv;
using tier::test::small_machine;

TEST_CASE("every preset loads, validates, and fits in half of its backing node") {
  const Topology m = small_machine();
  REQUIRE(preset_names().size() == 5);
  for (const std::string &name : preset_names()) {
    INFO(name);
    auto t = load_preset(name, m);
    INFO((t ? "" : t.error().message));
    REQUIRE(t.ok());
    CHECK(t->emulated);
    CHECK(t->source == "preset " + name);
    CHECK(validate(*t, &m).ok());
    uint64_t sum = 0;
    bool has_dram = false;
    for (const Node &n : t->nodes) {
      CHECK(n.emulated);
      CHECK(n.backing_node == 0);
      CHECK(n.kind != TIER_KIND_UNKNOWN);
      CHECK(n.kind_source == TIER_SOURCE_PRESET);
      CHECK(n.read_latency_ns.source == TIER_SOURCE_PRESET);
      CHECK(n.capacity % (2u << 20) == 0);
      sum += n.capacity;
      has_dram |= n.kind == TIER_KIND_DRAM;
    }
    CHECK(has_dram);
    CHECK(sum <= (16ull << 30) / 2);
    // Tier 0 is the highest-bandwidth kind the preset has.
    CHECK(t->nodes.front().tier == 0);
  }
}

TEST_CASE("the default preset: HBM, DRAM, CXL and pool in four tiers, shares of the machine") {
  auto t = load_preset("default", small_machine());
  REQUIRE(t.ok());
  REQUIRE(t->tier_count() == 4);
  CHECK(t->tier_nodes(0).front()->kind == TIER_KIND_HBM);
  CHECK(t->tier_nodes(1).front()->kind == TIER_KIND_DRAM);
  CHECK(t->tier_nodes(2).front()->kind == TIER_KIND_CXL);
  CHECK(t->tier_nodes(3).front()->kind == TIER_KIND_CXL_POOL);
  // 1% of 16 GiB, rounded down to 2 MiB.
  CHECK(t->find(1)->capacity == 162ull << 20);
  CHECK(t->find(0)->cpus == std::vector<int>{0, 1});
}

TEST_CASE("scaled presets keep their capacity ratios") {
  auto t = load_preset("gh200", small_machine());
  REQUIRE(t.ok());
  double ratio = double(t->find(0)->capacity) / double(t->find(1)->capacity);
  CHECK(ratio == Approx(5.0).epsilon(0.01));  // 480 GB : 96 GB
  CHECK(t->find(1)->read_bandwidth_mbps.value == 4000000);
}

TEST_CASE("a preset on a machine whose first node is not 0 is backed by its CPU node") {
  Topology m = small_machine();
  m.nodes[0].id = m.nodes[0].backing_node = 4;
  auto t = load_preset("dram-2cxl", m);
  REQUIRE(t.ok());
  for (const Node &n : t->nodes) CHECK(n.backing_node == 4);
  auto text = preset_text("dram-2cxl", 4);
  REQUIRE(text.has_value());
  CHECK(text->find("backing = 4") != std::string::npos);
  CHECK_FALSE(preset_text("nope", 0).has_value());
  auto bad = load_preset("nope", m);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("presets: default, xeon-max-flat") != std::string::npos);
}

TEST_CASE("resolve_topology: spec, then TIER_TOPOLOGY, then the machine or the default preset") {
  ScopedEnv env("TIER_TOPOLOGY", std::nullopt);
  auto machine = discover();
  REQUIRE(machine.ok());

  auto by_default = resolve_topology(nullptr);
  REQUIRE(by_default.ok());
  if (machine->nodes.size() == 1)
    CHECK(by_default->source == "preset default");
  else
    CHECK_FALSE(by_default->emulated);

  auto forced = resolve_topology("machine");
  REQUIRE(forced.ok());
  CHECK_FALSE(forced->emulated);
  CHECK(forced->nodes.size() == machine->nodes.size());

  auto preset = resolve_topology("gh200");
  REQUIRE(preset.ok());
  CHECK(preset->source == "preset gh200");

  const std::string path = fixtures() + "/topology/virtual-good.toml";
  auto from_file = resolve_topology(path.c_str());
  REQUIRE(from_file.ok());
  CHECK(from_file->source == "file " + path);

  {
    ScopedEnv set("TIER_TOPOLOGY", std::string("xeon-max-flat"));
    auto t = resolve_topology(nullptr);
    REQUIRE(t.ok());
    CHECK(t->source == "preset xeon-max-flat");
    auto empty = resolve_topology("");  // "" means the environment too
    REQUIRE(empty.ok());
    CHECK(empty->source == "preset xeon-max-flat");
    auto spec_wins = resolve_topology("machine");
    REQUIRE(spec_wins.ok());
    CHECK_FALSE(spec_wins->emulated);
  }
  {
    ScopedEnv set("TIER_TOPOLOGY", std::string("defualt"));
    auto t = resolve_topology(nullptr);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message.rfind("TIER_TOPOLOGY=\"defualt\": no such preset", 0) == 0);
  }
  {
    const std::string bad = fixtures() + "/topology/bad-kind.toml";
    ScopedEnv set("TIER_TOPOLOGY", bad);
    auto t = resolve_topology(nullptr);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message.rfind("TIER_TOPOLOGY: " + bad + ":3: node[0].kind", 0) == 0);
  }
}
