// Runs inside tier-vm (three-node.toml: DRAM node 0, HBM-like node 1, CXL-like node 2, real
// kernel NUMA nodes): Tier's NUMA mover (move_pages(2) through prim::ops, batched, queried,
// retried) carries a 256 MiB buffer around every ordered pair of nodes while two threads write
// it, and no store is lost; then the agent, on the discovered topology, promotes a region's hot
// chunks to the fastest node, checked with tier_where (a move_pages query).
//
// TIER_VM_MIGRATE_TRIPS repeats the route below (6 moves = 3 round trips; default 1, which
// TCG runs in ~25 s). 7 repetitions (21 round trips) take about 2 minutes more and are run by
// hand; docs/migration.md has the command and the figures.
#include <catch2/catch.hpp>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "migrate/mover.hpp"
#include "tier/heat.h"
#include "tier/tier.h"

using namespace tier;
using namespace tier::migrate;

namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kChunk = 2 * kMiB;

uint64_t word(uint64_t writer, uint64_t pass, uint64_t index) {
  return (writer << 62) | ((pass & 0x3fffffff) << 32) | (index & 0xffffffff);
}

}  // namespace

TEST_CASE("vm: 256 MiB moved by the NUMA mover between real nodes under two writers") {
  REQUIRE(std::getenv("TIER_VM") != nullptr);
  const char *trips_env = std::getenv("TIER_VM_MIGRATE_TRIPS");
  const int trips = trips_env ? std::atoi(trips_env) : 1;
  const size_t len = 256 * kMiB, words = len / 8;
  void *mem =
      mmap(nullptr, len + kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  auto *buf =
      reinterpret_cast<uint64_t *>((reinterpret_cast<uintptr_t>(mem) + kChunk - 1) & ~(kChunk - 1));
  // Huge pages, as Tier's chunks use (4 KiB pages cost a TLB-shootdown IPI each under TCG).
  madvise(buf, len, MADV_HUGEPAGE);
  std::memset(buf, 0, len);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0};
  uint64_t passes[2] = {0, 0};
  auto writer = [&](uint64_t w) {
    uint64_t pass = 0;
    while (pass == 0 || !stop.load(std::memory_order_relaxed)) {
      ++pass;
      for (size_t i = w; i < words; i += 2) {
        if (buf[i] != (pass == 1 ? 0 : word(w, pass - 1, i)))
          errors.fetch_add(1, std::memory_order_relaxed);
        buf[i] = word(w, pass, i);
      }
    }
    passes[w] = pass;
  };
  std::thread w0(writer, 0), w1(writer, 1);

  Result<Mover> m = Mover::numa();
  REQUIRE(m.ok());
  MoveStats total;
  std::vector<RangeOutcome> out;
  int from = 0;
  for (int t = 0; t < trips; ++t)
    for (int to : {1, 2, 0, 2, 1, 0}) {
      std::vector<MoveRange> ranges;
      for (size_t off = 0; off < len; off += kChunk)
        ranges.push_back({reinterpret_cast<uintptr_t>(buf) + off, kChunk, from, to, off});
      MoveStats st;
      REQUIRE(m->move(ranges, &out, &st).ok());
      INFO("to node " << to << ": moved " << st.pages_moved << ", skipped " << st.pages_skipped
                      << ", failed " << st.pages_failed << ", retried " << st.pages_retried);
      // Pages a writer holds at that instant may stay busy past the retries; nearly all move.
      REQUIRE(st.pages_moved + st.pages_skipped >= len / 4096 * 9 / 10);
      total += st;
      from = to;
    }
  stop = true;
  w0.join();
  w1.join();
  CHECK(errors.load() == 0);
  uint64_t bad = 0;
  for (size_t i = 0; i < words; ++i)
    if (buf[i] != word(i & 1, passes[i & 1], i)) ++bad;
  CHECK(bad == 0);
  WARN("NUMA mover in the VM: " << total.bytes_moved / kMiB << " MiB moved in "
                                << total.elapsed_ns / 1e9 << " s, " << total.calls
                                << " move_pages calls, " << total.pages_failed << " pages failed, "
                                << total.pages_retried << " retried");
  munmap(mem, len + kChunk);
}

TEST_CASE("vm: the agent promotes hot chunks to the fastest real node") {
  REQUIRE(std::getenv("TIER_VM") != nullptr);
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "machine";
  tier_runtime *rt = nullptr;
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  REQUIRE(tier_topology_emulated(rt) == 0);
  tier_node_info fastest{}, slowest{};
  fastest.size = slowest.size = sizeof fastest;
  REQUIRE(tier_node_at(rt, 0, &fastest) == TIER_OK);
  REQUIRE(tier_node_at(rt, tier_node_count(rt) - 1, &slowest) == TIER_OK);
  REQUIRE(fastest.id != slowest.id);

  // Any memory of the process can be managed on real nodes: plain anonymous memory, put on the
  // slowest node by the mover itself.
  const size_t len = 16 * kMiB, hot = 4 * kMiB;
  void *mem =
      mmap(nullptr, len + kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  auto *p =
      reinterpret_cast<char *>((reinterpret_cast<uintptr_t>(mem) + kChunk - 1) & ~(kChunk - 1));
  std::memset(p, 3, len);
  {
    Result<Mover> m = Mover::numa();
    REQUIRE(m.ok());
    std::vector<RangeOutcome> out;
    MoveStats st;
    REQUIRE(m->move({{reinterpret_cast<uintptr_t>(p), len, -1, slowest.id, 0}}, &out, &st).ok());
    REQUIRE(st.pages_failed == 0);
  }
  uint32_t id = 0;
  REQUIRE(tier_region_register(rt, p, len, TIER_GROUP_NONE, 0, &id) == TIER_OK);

  auto on = [&](const void *q, size_t n, int node) {
    tier_where_result w{};
    w.size = sizeof w;
    REQUIRE(tier_where(rt, q, n, &w) == TIER_OK);
    uint64_t b = 0;
    for (int i = 0; i < w.nentries; ++i)
      if (w.entries[i].node == node) b += w.entries[i].bytes;
    return b;
  };
  REQUIRE(on(p, len, slowest.id) == len);
  for (int e = 0; e < 10 && on(p, hot, fastest.id) < hot; ++e) {
    tier_touch(rt, p, hot, 1000, 0);
    tier_epoch_stats st{};
    st.size = sizeof st;
    REQUIRE(tier_epoch(rt, &st) == TIER_OK);
  }
  CHECK(on(p, hot, fastest.id) == hot);
  CHECK(on(p + hot, len - hot, slowest.id) == len - hot);
  size_t changed = 0;
  for (size_t i = 0; i < len; ++i) changed += p[i] != 3;
  CHECK(changed == 0);
  tier_agent_stats as{};
  as.size = sizeof as;
  REQUIRE(tier_agent_stats_get(rt, &as) == TIER_OK);
  CHECK(std::string(as.mover) == "numa");
  CHECK(as.promotions == hot / kChunk);
  REQUIRE(tier_region_unregister(rt, id) == TIER_OK);
  munmap(mem, len + kChunk);
  tier_runtime_destroy(rt);
}
