// Runs inside tier-vm (three-node.toml: node 0 DRAM with the CPUs, node 1 HBM-like, node 2
// CXL-like, all real kernel NUMA nodes): every allocation policy of the C ABI must put the
// pages on the nodes it names, as the kernel itself reports them (a move_pages query, not
// Tier's own bookkeeping), and tier_where must agree with the kernel.
#include <catch2/catch.hpp>

#include <numaif.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tier/tier.h"

namespace {

constexpr size_t kBytes = 64ull << 20;
constexpr size_t kPage = 4096;

// Pages of [p, p+len) per node, from the kernel.
std::map<int, size_t> kernel_nodes(void *p, size_t len) {
  std::vector<void *> pages(len / kPage);
  for (size_t i = 0; i < pages.size(); ++i) pages[i] = static_cast<char *>(p) + i * kPage;
  std::vector<int> status(pages.size(), -1);
  REQUIRE(move_pages(0, pages.size(), pages.data(), nullptr, status.data(), 0) == 0);
  std::map<int, size_t> count;
  for (int s : status) ++count[s];
  return count;
}

struct Runtime {
  tier_runtime *rt = nullptr;
  Runtime() {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    o.topology = "machine";  // the VM's real nodes, no emulation
    INFO(tier_last_error());
    REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  }
  ~Runtime() { tier_runtime_destroy(rt); }
};

// Allocates under `text`, touches every page, and returns the kernel's pages per node.
std::map<int, size_t> place(tier_runtime *rt, const char *text, void **out) {
  tier_policy policy;
  tier_policy_init(&policy);
  if (tier_policy_parse(rt, text, &policy) != TIER_OK)
    FAIL("tier_policy_parse(\"" << text << "\"): " << tier_last_error());
  void *p = tier_malloc(rt, kBytes, &policy);
  if (p == nullptr)
    FAIL("tier_malloc under \"" << text << "\": " << tier_strerror(tier_last_status()) << ": "
                                << tier_last_error());
  std::memset(p, 0x5a, kBytes);
  *out = p;
  // The allocation may start inside a page; query whole pages of it.
  auto begin = (reinterpret_cast<uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  return kernel_nodes(reinterpret_cast<void *>(begin),
                      kBytes - (begin - reinterpret_cast<uintptr_t>(p)) - kPage);
}

// "node:pages ..." for failure messages (negative keys are per-page errors, -2 = not present).
std::string show(const std::map<int, size_t> &m) {
  std::string out;
  for (auto &[n, c] : m) out += std::to_string(n) + ":" + std::to_string(c) + " ";
  return out;
}

size_t total(const std::map<int, size_t> &m) {
  size_t t = 0;
  for (auto &[n, c] : m) t += c;
  return t;
}

}  // namespace

TEST_CASE("the runtime sees the VM's three real nodes, ranked HBM, DRAM, CXL") {
  REQUIRE(std::getenv("TIER_VM") != nullptr);
  Runtime r;
  REQUIRE(tier_node_count(r.rt) == 3);
  REQUIRE(tier_topology_emulated(r.rt) == 0);
  tier_node_info info{};
  info.size = sizeof info;
  REQUIRE(tier_node_at(r.rt, 0, &info) == TIER_OK);
  CHECK(info.id == 1);
  CHECK(info.kind == TIER_KIND_HBM);
  REQUIRE(tier_node_at(r.rt, 2, &info) == TIER_OK);
  CHECK(info.id == 2);
  CHECK(info.kind == TIER_KIND_CXL);
  CHECK(info.cpuless == 1);
}

TEST_CASE("bind and preferred policies put every page on their node") {
  Runtime r;
  struct Case {
    const char *policy;
    int node;
  } cases[] = {{"bind=1", 1},
               {"bind=2", 2},
               {"bind=cxl", 2},
               {"bind=dram", 0},
               {"preferred=fastest", 1},
               {"preferred=hbm", 1},
               {"bind=tier:2", 2},
               {"preferred=lowest-latency", 1}};
  for (const Case &c : cases) {
    void *p = nullptr;
    auto nodes = place(r.rt, c.policy, &p);
    INFO("policy " << c.policy << ", kernel pages per node " << show(nodes));
    CHECK(nodes[c.node] == total(nodes));

    tier_where_result where{};
    where.size = sizeof where;
    REQUIRE(tier_where(r.rt, p, kBytes, &where) == TIER_OK);
    uint64_t on_node = 0, all = 0;
    for (int i = 0; i < where.nentries; ++i) {
      all += where.entries[i].bytes;
      if (where.entries[i].node == c.node) on_node = where.entries[i].bytes;
    }
    CHECK(on_node == all);
    CHECK(all >= kBytes - 2 * kPage);
    REQUIRE(tier_free(r.rt, p) == TIER_OK);
  }
}

TEST_CASE("interleave and preferred-many spread pages over their nodes only") {
  Runtime r;
  void *p = nullptr;
  auto inter = place(r.rt, "interleave=0,2", &p);
  const size_t n = total(inter);
  CHECK(inter[0] + inter[2] == n);
  // Round-robin by page (or by huge page): each side gets a fair share.
  CHECK(inter[0] >= n / 4);
  CHECK(inter[2] >= n / 4);
  REQUIRE(tier_free(r.rt, p) == TIER_OK);

  auto many = place(r.rt, "preferred-many=1,2", &p);
  CHECK(many[1] + many[2] == total(many));
  REQUIRE(tier_free(r.rt, p) == TIER_OK);
}

TEST_CASE("weighted interleave follows the weights, or says the 6.1 kernel lacks it") {
  Runtime r;
  tier_policy policy;
  tier_policy_init(&policy);
  REQUIRE(tier_policy_parse(r.rt, "weighted=0:3,2:1", &policy) == TIER_OK);
  void *p = tier_malloc(r.rt, kBytes, &policy);
  if (p == nullptr) {
    // MPOL_WEIGHTED_INTERLEAVE arrived in Linux 6.9; the VM runs 6.1.
    INFO(tier_last_error());
    CHECK(tier_last_status() == TIER_ENOSYS);
    return;
  }
  std::memset(p, 1, kBytes);
  auto nodes = kernel_nodes(p, kBytes - kPage);
  const double n = static_cast<double>(total(nodes));
  CHECK(nodes[0] + nodes[2] == total(nodes));
  CHECK(nodes[0] / n == Approx(0.75).margin(0.1));
  REQUIRE(tier_free(r.rt, p) == TIER_OK);
}
