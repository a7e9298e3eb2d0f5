// The emulation cost model: the loaded-latency curve, latency vs bandwidth-bound work, the
// ratios the figures imply, and migration cost calibrated to move_pages.
#include <catch2/catch.hpp>

#include <string>

#include "emu/cost_model.hpp"
#include "tier/emulation.h"

using namespace tier::emu;

namespace {

NodeParams node(int id, tier_node_kind kind, double lat, double bw) {
  NodeParams p;
  p.id = id;
  p.kind = kind;
  p.read_latency_ns = p.write_latency_ns = lat;
  p.read_bandwidth_mbps = p.write_bandwidth_mbps = bw;
  return p;
}

// DRAM 100 ns / 300 GB/s, CXL 250 ns / 64 GB/s, HBM 130 ns / 800 GB/s.
CostModel three_nodes() {
  return CostModel({node(0, TIER_KIND_DRAM, 100, 300000), node(1, TIER_KIND_CXL, 250, 64000),
                    node(2, TIER_KIND_HBM, 130, 800000)});
}

}  // namespace

TEST_CASE("loaded latency is flat at low utilisation and rises steeply near saturation") {
  const LatencyCurve c;
  REQUIRE(latency_factor(c, 0.0) == 1.0);
  REQUIRE(latency_factor(c, 0.5) < 1.05);
  REQUIRE(latency_factor(c, 0.6) < 1.10);
  REQUIRE(latency_factor(c, 0.8) > 1.3);
  REQUIRE(latency_factor(c, 0.9) > 2.0);
  REQUIRE(latency_factor(c, 0.95) > 4.0);
  double prev = 0;
  for (int i = 0; i <= 100; ++i) {
    const double f = latency_factor(c, i / 100.0);
    REQUIRE(f >= prev);
    prev = f;
  }
  // Clipped: beyond max_utilisation (and past 1) the queue does not grow without bound.
  REQUIRE(latency_factor(c, 1.0) == latency_factor(c, c.max_utilisation));
  REQUIRE(latency_factor(c, 5.0) == latency_factor(c, c.max_utilisation));
}

TEST_CASE("random accesses are latency-bound: CXL/DRAM time ratio is the latency ratio") {
  const CostModel m = three_nodes();
  EstimateOptions o;
  o.interval_s = 1.0;  // 1M lines a second is a tiny share of either node's bandwidth
  auto dram = m.estimate({{0, 1000000, 0, 0, 0}}, o);
  auto cxl = m.estimate({{1, 1000000, 0, 0, 0}}, o);
  REQUIRE(dram.ok());
  REQUIRE(cxl.ok());
  REQUIRE(dram->bandwidth_s == 0);
  REQUIRE(cxl->total_s / dram->total_s == Approx(2.5).epsilon(0.01));
  // 1M reads x 100 ns / MLP 8
  REQUIRE(dram->total_s == Approx(1e6 * 100e-9 / 8).epsilon(0.01));
  o.mlp = 1;
  auto chase = m.estimate({{0, 1000000, 0, 0, 0}}, o);
  REQUIRE(chase->total_s == Approx(8 * dram->total_s).epsilon(0.01));
}

TEST_CASE("streaming is bandwidth-bound: HBM/DRAM time ratio is the bandwidth ratio") {
  const CostModel m = three_nodes();
  const uint64_t gb = 1000000000ull;
  auto dram = m.estimate({{0, 0, 0, 10 * gb, 0}});
  auto hbm = m.estimate({{2, 0, 0, 10 * gb, 0}});
  REQUIRE(dram.ok());
  REQUIRE(dram->latency_s == 0);
  REQUIRE(dram->total_s == Approx(10.0 / 300).epsilon(1e-6));
  REQUIRE(dram->total_s / hbm->total_s == Approx(800.0 / 300).epsilon(1e-6));
  // Closed loop: a pure stream keeps the node saturated.
  REQUIRE(dram->nodes.at(0).utilisation == Approx(0.95));
}

TEST_CASE("random accesses slow down when a stream loads the same node") {
  const CostModel m = three_nodes();
  EstimateOptions o;
  o.interval_s = 1.0;
  const Access random{0, 1000000, 0, 0, 0};
  auto alone = m.estimate({random}, o);
  Access loaded = random;
  loaded.stream_read_bytes = 270ull * 1000 * 1000 * 1000;  // 90 % of 300 GB/s for 1 s
  auto busy = m.estimate({loaded}, o);
  REQUIRE(busy->nodes.at(0).utilisation > 0.89);
  REQUIRE(busy->nodes.at(0).loaded_read_latency_ns > 2 * alone->nodes.at(0).loaded_read_latency_ns);
  REQUIRE(busy->latency_s > 2 * alone->latency_s);
  // The stream on another node does not load this one.
  auto apart = m.estimate({random, {1, 0, 0, 30ull * 1000 * 1000 * 1000, 0}}, o);
  REQUIRE(apart->nodes.at(0).loaded_read_latency_ns == alone->nodes.at(0).loaded_read_latency_ns);
  REQUIRE(apart->nodes.size() == 2);
}

TEST_CASE("the closed loop fixed point is consistent") {
  const CostModel m = three_nodes();
  const Access mixed{1, 50000000, 10000000, 4000000000ull, 1000000000ull};
  auto closed = m.estimate({mixed});
  REQUIRE(closed.ok());
  // Evaluating with the solved time as the interval gives the same time back.
  EstimateOptions o;
  o.interval_s = closed->total_s;
  auto open = m.estimate({mixed}, o);
  REQUIRE(open->total_s == Approx(closed->total_s).epsilon(1e-6));
  REQUIRE(closed->nodes.at(0).utilisation > 0);
  REQUIRE(closed->nodes.at(0).utilisation <= 0.95);
}

TEST_CASE("accesses to one node are summed; unknown nodes and bad options are refused") {
  const CostModel m = three_nodes();
  auto split = m.estimate({{0, 500, 0, 0, 0}, {0, 500, 0, 0, 0}});
  auto whole = m.estimate({{0, 1000, 0, 0, 0}});
  REQUIRE(split->total_s == Approx(whole->total_s));
  REQUIRE(split->nodes.size() == 1);

  auto bad = m.estimate({{7, 1, 0, 0, 0}});
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.status() == TIER_ENODEV);
  REQUIRE(bad.error().message.find("node 7") != std::string::npos);
  EstimateOptions o;
  o.mlp = 0;
  REQUIRE(m.estimate({{0, 1, 0, 0, 0}}, o).status() == TIER_EINVAL);
  o = {};
  o.interval_s = -1;
  REQUIRE(m.estimate({{0, 1, 0, 0, 0}}, o).status() == TIER_EINVAL);
}

TEST_CASE("migration cost matches move_pages: ~3.5 GB/s with 4 KiB pages, ~11 GB/s with 2 MiB") {
  const CostModel m = three_nodes();
  const uint64_t bytes = 1ull << 30;
  auto small = m.migration_seconds(0, 2, bytes, 4096);
  auto huge = m.migration_seconds(0, 2, bytes, 2u << 20);
  REQUIRE(small.ok());
  REQUIRE(bytes / *small / 1e9 == Approx(3.5).epsilon(0.03));
  REQUIRE(bytes / *huge / 1e9 == Approx(11.0).epsilon(0.03));
  // A slow side bounds the copy: a 4 GB/s pool node.
  const CostModel slow(
      {node(0, TIER_KIND_DRAM, 100, 300000), node(5, TIER_KIND_CXL_POOL, 400, 4000)});
  auto to_pool = slow.migration_seconds(0, 5, bytes, 2u << 20);
  REQUIRE(bytes / *to_pool / 1e9 < 4.0);
  REQUIRE(*m.migration_seconds(1, 1, bytes) == 0);
  REQUIRE(m.migration_seconds(0, 9, bytes).status() == TIER_ENODEV);
  REQUIRE(m.migration_seconds(0, 1, bytes, 3000).status() == TIER_EINVAL);
}

TEST_CASE("unknown figures come from the kind's defaults, write figures from read ones") {
  tier::Node n;
  n.id = 3;
  n.kind = TIER_KIND_CXL;
  n.read_latency_ns = {280, TIER_SOURCE_FILE};
  const NodeParams p = make_node_params(n);
  REQUIRE(p.read_latency_ns == 280);
  REQUIRE(p.write_latency_ns == 280);
  REQUIRE(p.read_bandwidth_mbps == kind_defaults(TIER_KIND_CXL).read_bandwidth_mbps);
  REQUIRE(p.defaulted);
  // The kinds' defaults keep the published orderings.
  const auto dram = kind_defaults(TIER_KIND_DRAM), cxl = kind_defaults(TIER_KIND_CXL),
             pool = kind_defaults(TIER_KIND_CXL_POOL), hbm = kind_defaults(TIER_KIND_HBM);
  REQUIRE(cxl.read_latency_ns / dram.read_latency_ns >= 2.0);
  REQUIRE(cxl.read_latency_ns / dram.read_latency_ns <= 3.0);
  REQUIRE(pool.read_latency_ns > cxl.read_latency_ns);
  REQUIRE(hbm.read_bandwidth_mbps > 2 * dram.read_bandwidth_mbps);
}

TEST_CASE("C API: explicit nodes, estimate, migration, errors in the last error") {
  tier_cost_node nodes[2] = {};
  nodes[0] = {sizeof(tier_cost_node), 0, TIER_KIND_DRAM, 100, 0, 300000, 0, 0, 0, 0};
  nodes[1] = {sizeof(tier_cost_node), 1, TIER_KIND_CXL, 250, 0, 0, 0, 0, 0, 0};
  tier_cost_model *m = nullptr;
  REQUIRE(tier_cost_model_create_nodes(nodes, 2, &m) == TIER_OK);
  REQUIRE(tier_cost_model_node_count(m) == 2);
  tier_cost_node got{};
  got.size = sizeof got;
  REQUIRE(tier_cost_model_node_at(m, 1, &got) == TIER_OK);
  REQUIRE(got.write_latency_ns == 250);       // from the read figure
  REQUIRE(got.read_bandwidth_mbps == 64000);  // the CXL default
  REQUIRE(got.curve_max_utilisation == Approx(0.95));

  const tier_cost_access acc[] = {{0, 1000000, 0, 0, 0}, {1, 1000000, 0, 0, 0}};
  tier_cost_options opts = TIER_COST_OPTIONS_INIT;
  opts.interval_s = 1;
  tier_cost_result r{};
  r.size = sizeof r;
  REQUIRE(tier_cost_estimate(m, acc, 2, &opts, &r) == TIER_OK);
  REQUIRE(r.nnodes == 2);
  REQUIRE(r.nodes[1].total_s / r.nodes[0].total_s == Approx(2.5).epsilon(0.01));
  REQUIRE(r.total_s == Approx(r.nodes[0].total_s + r.nodes[1].total_s));

  double s = 0;
  REQUIRE(tier_cost_migration(m, 0, 1, 2u << 20, 2u << 20, &s) == TIER_OK);
  REQUIRE(s > 0);
  double f = 0;
  REQUIRE(tier_cost_latency_factor(m, 0, 0.9, &f) == TIER_OK);
  REQUIRE(f > 2);

  const tier_cost_access bad[] = {{42, 1, 0, 0, 0}};
  REQUIRE(tier_cost_estimate(m, bad, 1, nullptr, &r) == TIER_ENODEV);
  REQUIRE(std::string(tier_last_error()).find("node 42") != std::string::npos);
  tier_cost_model_destroy(m);

  nodes[1].id = 0;
  REQUIRE(tier_cost_model_create_nodes(nodes, 2, &m) == TIER_EINVAL);
  REQUIRE(std::string(tier_last_error()).find("appears twice") != std::string::npos);
  REQUIRE(m == nullptr);
}

TEST_CASE("a declared read figure beats the kind's default for the write direction") {
  tier::Node n;
  n.id = 1;
  n.kind = TIER_KIND_HBM;
  n.read_bandwidth_mbps = {400000, TIER_SOURCE_FILE};
  n.write_bandwidth_mbps = {1000000, TIER_SOURCE_DEFAULT};  // what apply_kind_defaults leaves
  n.read_latency_ns = {90, TIER_SOURCE_FILE};
  n.write_latency_ns = {95, TIER_SOURCE_FILE};
  const NodeParams p = make_node_params(n);
  REQUIRE(p.write_bandwidth_mbps == 400000);
  REQUIRE(p.write_latency_ns == 95);
  REQUIRE_FALSE(p.defaulted);  // every figure is the node's own
}

TEST_CASE("C API: a model of a preset carries the preset's figures; bad specs are refused") {
  tier_cost_model *m = nullptr;
  REQUIRE(tier_cost_model_create("dram-2cxl", &m) == TIER_OK);
  REQUIRE(tier_cost_model_node_count(m) == 3);
  double dram_lat = 0, cxl_lat = 0;
  for (int i = 0; i < 3; ++i) {
    tier_cost_node n{};
    n.size = sizeof n;
    REQUIRE(tier_cost_model_node_at(m, i, &n) == TIER_OK);
    if (n.kind == TIER_KIND_DRAM) dram_lat = n.read_latency_ns;
    if (n.kind == TIER_KIND_CXL) cxl_lat = n.read_latency_ns;
  }
  REQUIRE(cxl_lat / dram_lat == Approx(2.5));
  tier_cost_model_destroy(m);

  m = nullptr;
  REQUIRE(tier_cost_model_create("/nonexistent/topology.toml", &m) != TIER_OK);
  REQUIRE(m == nullptr);
  REQUIRE(std::string(tier_last_error()).find("/nonexistent/topology.toml") != std::string::npos);
}
