// The sampled protection-fault heat source (TIER_REGION_SAMPLE_FAULTS): a region whose owner
// reports nothing still gets its hot part promoted, from faults alone, while the data a thread
// keeps writing stays intact; cold pages stay put; a fault that is not the sampler's (or a
// relocation's) reaches the handler installed before Tier's.
#include <catch2/catch.hpp>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "tier/heat.h"
#include "tier/tier.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

int node_of_kind(tier_runtime *rt, tier_node_kind kind) {
  for (int i = 0; i < tier_node_count(rt); ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    REQUIRE(tier_node_at(rt, i, &info) == TIER_OK);
    if (info.kind == kind) return info.id;
  }
  return -1;
}

uint64_t on(tier_runtime *rt, const void *p, size_t len, int node) {
  tier_where_result w{};
  w.size = sizeof w;
  REQUIRE(tier_where(rt, p, len, &w) == TIER_OK);
  uint64_t b = 0;
  for (int i = 0; i < w.nentries; ++i)
    if (w.entries[i].node == node) b += w.entries[i].bytes;
  return b;
}

sigjmp_buf g_jump;
volatile sig_atomic_t g_previous_called = 0;
void previous_handler(int, siginfo_t *, void *) {
  g_previous_called = 1;
  siglongjmp(g_jump, 1);
}

}  // namespace

TEST_CASE("fault sampler: the hot part of a silent region is promoted from faults alone") {
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  tier_runtime *rt = nullptr;
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  const int hbm = node_of_kind(rt, TIER_KIND_HBM), cxl = node_of_kind(rt, TIER_KIND_CXL);
  tier_policy pol = TIER_POLICY_INIT;
  pol.mode = TIER_MODE_BIND;
  pol.select = TIER_SELECT_NODES;
  pol.nnodes = 1;
  pol.nodes[0] = cxl;
  const size_t len = 32 * kMiB, hot = 4 * kMiB;
  auto *p = static_cast<uint64_t *>(tier_malloc(rt, len, &pol));
  REQUIRE(p != nullptr);
  std::memset(p, 0, len);  // resident, so that tier_where reports where the cold part is
  uint32_t id = 0;
  REQUIRE(tier_region_register(rt, p, len, TIER_GROUP_NONE, TIER_REGION_SAMPLE_FAULTS, &id) ==
          TIER_OK);

  // The "application": keeps incrementing every word of the hot part, never calls tier_touch.
  std::atomic<bool> stop{false};
  uint64_t rounds = 0;
  std::thread worker([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      for (size_t i = 0; i < hot / 8; i += 512) ++p[i];  // one word a page
      ++rounds;
    }
  });
  int epochs = 0;
  for (; epochs < 60 && on(rt, p, hot, hbm) < hot; ++epochs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(tier_epoch(rt, nullptr) == TIER_OK);
  }
  stop = true;
  worker.join();
  CHECK(on(rt, p, hot, hbm) == hot);
  CHECK(on(rt, reinterpret_cast<char *>(p) + hot, len - hot, cxl) == len - hot);
  tier_agent_stats as{};
  as.size = sizeof as;
  REQUIRE(tier_agent_stats_get(rt, &as) == TIER_OK);
  CHECK(as.sampled_faults > 0);
  // Every hot page's counter saw every round: no increment lost to a fault or a move.
  for (size_t i = 0; i < hot / 8; i += 512) REQUIRE(p[i] == rounds);
  WARN("promoted after " << epochs << " epochs from " << as.sampled_faults << " sampled faults");
  REQUIRE(tier_region_unregister(rt, id) == TIER_OK);
  tier_free(rt, p);
  tier_runtime_destroy(rt);
}

TEST_CASE("fault sampler: other faults reach the previously installed handler") {
  struct sigaction mine = {}, saved;
  mine.sa_sigaction = previous_handler;
  mine.sa_flags = SA_SIGINFO;
  sigemptyset(&mine.sa_mask);
  REQUIRE(sigaction(SIGSEGV, &mine, &saved) == 0);

  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  tier_runtime *rt = nullptr;
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  auto *p = static_cast<char *>(tier_malloc(rt, 4 * kMiB, nullptr));
  REQUIRE(p != nullptr);
  uint32_t id = 0;
  REQUIRE(tier_region_register(rt, p, 4 * kMiB, 0, TIER_REGION_SAMPLE_FAULTS, &id) == TIER_OK);
  REQUIRE(tier_epoch(rt, nullptr) == TIER_OK);  // arms a sample, installs Tier's handler on top

  void *guard = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(guard != MAP_FAILED);
  if (sigsetjmp(g_jump, 1) == 0) {
    *static_cast<volatile char *>(guard) = 1;  // not Tier's: must be chained
  }
  CHECK(g_previous_called == 1);
  munmap(guard, 4096);
  REQUIRE(tier_region_unregister(rt, id) == TIER_OK);
  tier_free(rt, p);
  tier_runtime_destroy(rt);
  sigaction(SIGSEGV, &saved, nullptr);
}
