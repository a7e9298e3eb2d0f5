// tier_bench_emulation - modelled time of a streaming and a random-access workload on every
// node of every emulation preset, beside the published ratios the model should reproduce,
// plus the loaded-latency curve and the migration cost it charges.
//
//   tier_bench_emulation [--preset NAME] [--check]
//
// --check exits 1 when a modelled ratio leaves its published range (CI smoke run). The
// figures are the cost model's, not measurements of this machine: see docs/emulation.md.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu/cost_model.hpp"
#include "topology/topology.hpp"

using namespace tier;
using namespace tier::emu;

namespace {

constexpr uint64_t kStreamBytes = 4'000'000'000ull;  // 4 GB read front to back
constexpr uint64_t kRandomReads = 16'000'000ull;     // 16 M independent cache lines

struct Range {
  tier_node_kind kind;
  const char *preset;  // nullptr = any preset
  const char *what;    // "latency" (random, MLP 1) or "bandwidth" (stream)
  double lo, hi;
  const char *source;
};

// Published ratios against the same machine's DRAM (docs/emulation.md has the details).
const Range kRanges[] = {
    {TIER_KIND_CXL, nullptr, "latency", 2.0, 3.0,
     "CXL expander ~200-300 ns, 2-3x local DRAM: DESIGN.md, issue 3"},
    {TIER_KIND_CXL, nullptr, "bandwidth", 0.08, 0.25,
     "x8 ~32 GB/s, x16 ~64 GB/s per direction vs ~300 GB/s DDR5 socket"},
    {TIER_KIND_CXL_POOL, nullptr, "latency", 3.0, 4.0,
     "CXL behind a switch/pool ~300-400 ns: DESIGN.md (least certain figure)"},
    {TIER_KIND_HBM, "xeon-max-flat", "bandwidth", 3.0, 4.0,
     "Xeon Max HBM2e ~1 TB/s vs DDR5 ~300 GB/s a socket (Intel)"},
    {TIER_KIND_HBM, "xeon-max-flat", "latency", 1.0, 1.3,
     "Xeon Max HBM latency a little above DDR5's (Intel, flat mode)"},
    {TIER_KIND_HBM, "default", "bandwidth", 3.0, 4.0, "as xeon-max-flat"},
    {TIER_KIND_HBM, "gh200", "bandwidth", 6.0, 9.0,
     "GH200 HBM3 ~4 TB/s vs LPDDR5X ~500 GB/s (NVIDIA)"},
    {TIER_KIND_HBM, "gh200", "latency", 1.5, 3.0,
     "GH200 HBM3 reached from Grace over NVLink-C2C: higher latency than LPDDR5X"},
};

double one(const CostModel &m, int node, const Access &a, double mlp = 8) {
  EstimateOptions o;
  o.mlp = mlp;
  Access x = a;
  x.node = node;
  auto c = m.estimate({x}, o);
  return c ? c->total_s : -1;
}

bool report_preset(const std::string &name, const Topology &machine, bool &all_ok) {
  auto topo = load_preset(name, machine);
  if (!topo) {
    std::fprintf(stderr, "preset %s: %s\n", name.c_str(), topo.error().message.c_str());
    return false;
  }
  const CostModel m = make_cost_model(*topo);
  const NodeParams *dram = nullptr;
  for (const auto &p : m.nodes())
    if (p.kind == TIER_KIND_DRAM && (!dram || p.id < dram->id)) dram = &p;
  if (!dram) return false;

  const Access stream{0, 0, 0, kStreamBytes, 0};
  const Access random{0, kRandomReads, 0, 0, 0};
  std::printf("\n== preset %s (reference: DRAM node %d)\n", name.c_str(), dram->id);
  std::printf("%-5s %-9s %-10s %8s %9s | %10s %8s | %10s %9s %8s | %7s %7s\n", "node", "kind",
              "name", "lat ns", "bw GB/s", "stream ms", "GB/s", "random ms", "chase ns", "MLP8 ns",
              "lat x", "bw x");
  const double d_stream = one(m, dram->id, stream), d_chase = one(m, dram->id, random, 1);
  for (const auto &p : m.nodes()) {
    const Node *n = topo->find(p.id);
    const double s = one(m, p.id, stream), r = one(m, p.id, random),
                 chase = one(m, p.id, random, 1);
    std::printf("%-5d %-9s %-10s %8.0f %9.0f | %10.2f %8.1f | %10.2f %9.1f %8.1f | %6.2fx %6.2fx\n",
                p.id, kind_name(p.kind), n ? n->name.c_str() : "?", p.read_latency_ns,
                p.read_bandwidth_mbps / 1000, s * 1e3, kStreamBytes / s / 1e9, r * 1e3,
                chase / kRandomReads * 1e9, r / kRandomReads * 1e9, chase / d_chase, d_stream / s);
  }
  for (const auto &p : m.nodes()) {
    if (p.id == dram->id || p.kind == TIER_KIND_DRAM) continue;
    for (const Range &rg : kRanges) {
      if (rg.kind != p.kind || (rg.preset && name != rg.preset)) continue;
      const bool lat = std::strcmp(rg.what, "latency") == 0;
      const double v = lat ? one(m, p.id, random, 1) / d_chase : d_stream / one(m, p.id, stream);
      const bool ok = v >= rg.lo && v <= rg.hi;
      all_ok = all_ok && ok;
      std::printf("  node %d/%d %-9s %5.2fx  published %.2f-%.2fx  %-4s %s\n", p.id, dram->id,
                  rg.what, v, rg.lo, rg.hi, ok ? "ok" : "OUT", rg.source);
    }
  }
  return true;
}

void report_curve(const Topology &machine) {
  auto topo = load_preset("default", machine);
  if (!topo) return;
  const CostModel m = make_cost_model(*topo);
  std::printf("\n== loaded latency (preset default): random reads while a stream uses the node\n");
  std::printf("%-6s", "util");
  for (const auto &p : m.nodes()) std::printf(" %10s", kind_name(p.kind));
  std::printf("   (read latency, ns)\n");
  for (double u : {0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95}) {
    std::printf("%5.0f%%", u * 100);
    for (const auto &p : m.nodes()) {
      EstimateOptions o;
      o.interval_s = 1.0;
      // The stream takes u of the node's peak for the 1 s interval; 1000 probes add nothing.
      const Access a{p.id, 1000, 0, static_cast<uint64_t>(u * p.read_bandwidth_mbps * 1e6), 0};
      auto c = m.estimate({a}, o);
      std::printf(" %10.0f", c ? c->nodes.at(0).loaded_read_latency_ns : -1.0);
    }
    std::printf("\n");
  }
}

void report_migration(const Topology &machine, bool &all_ok) {
  auto topo = load_preset("default", machine);
  if (!topo) return;
  const CostModel m = make_cost_model(*topo);
  std::printf("\n== migration of 1 GiB (preset default)\n");
  const uint64_t gib = 1ull << 30;
  for (const auto &src : m.nodes())
    for (const auto &dst : m.nodes()) {
      if (src.id == dst.id || src.kind != TIER_KIND_DRAM) continue;
      auto small = m.migration_seconds(src.id, dst.id, gib, 4096);
      auto huge = m.migration_seconds(src.id, dst.id, gib, 2u << 20);
      if (!small || !huge) continue;
      std::printf("  %-9s -> %-9s  4 KiB pages %6.2f GB/s   2 MiB pages %6.2f GB/s\n",
                  kind_name(src.kind), kind_name(dst.kind), gib / *small / 1e9, gib / *huge / 1e9);
    }
  // DESIGN.md: move_pages ~3.5 GB/s with 4 KiB pages, ~11 GB/s with 2 MiB (two-socket DRAM).
  std::vector<NodeParams> two = {kind_defaults(TIER_KIND_DRAM), kind_defaults(TIER_KIND_DRAM)};
  two[0].id = 0, two[1].id = 1;
  const CostModel pair(two);
  const double s4 = gib / *pair.migration_seconds(0, 1, gib, 4096) / 1e9;
  const double s2 = gib / *pair.migration_seconds(0, 1, gib, 2u << 20) / 1e9;
  const bool ok = s4 > 3.2 && s4 < 3.8 && s2 > 10 && s2 < 12;
  all_ok = all_ok && ok;
  std::printf("  dram -> dram: %.2f GB/s (4 KiB), %.2f GB/s (2 MiB); published ~3.5 and ~11  %s\n",
              s4, s2, ok ? "ok" : "OUT");
}

}  // namespace

int main(int argc, char **argv) {
  bool check = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check") == 0) {
      check = true;
    } else if (std::strcmp(argv[i], "--preset") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--preset NAME] [--check]\n", argv[0]);
      return 2;
    }
  }
  auto machine = discover();
  if (!machine) {
    std::fprintf(stderr, "discovery failed: %s\n", machine.error().message.c_str());
    return 1;
  }
  std::printf(
      "Tier cost model: stream = %.0f GB read sequentially; random = %.0f M independent "
      "64 B reads (MLP 8), chase = the same at MLP 1. Closed loop.\n",
      kStreamBytes / 1e9, kRandomReads / 1e6);
  bool all_ok = true, any = false;
  for (const auto &name : preset_names()) {
    if (!only.empty() && name != only) continue;
    any = report_preset(name, *machine, all_ok) || any;
  }
  if (!any) {
    std::fprintf(stderr, "no preset reported (unknown --preset %s?)\n", only.c_str());
    return 1;
  }
  report_curve(*machine);
  report_migration(*machine, all_ok);
  std::printf("\n%s\n", all_ok ? "all modelled ratios within the published ranges"
                               : "SOME MODELLED RATIOS ARE OUTSIDE THE PUBLISHED RANGES");
  return check && !all_ok ? 1 : 0;
}
