// The agent on the `default` preset (HBM, DRAM, CXL, CXL pool as virtual nodes): hot chunks of
// a registered region reach the fastest tier within a bounded number of epochs, cold chunks are
// demoted when a hotter object needs their room, pinned chunks stay, and the agent thread does
// the same on its own while other threads touch and allocate. Placement is checked with
// tier_where, which reports each granule's virtual node.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "tier/heat.h"
#include "test_runtime_fixture.hpp"
#include "tier/tier.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

struct Rt : tier::test::Rt {
  uint64_t on(const void *p, size_t len, int node) const {
    tier_where_result w{};
    w.size = sizeof w;
    REQUIRE(tier_where(rt, p, len, &w) == TIER_OK);
    uint64_t b = 0;
    for (int i = 0; i < w.nentries; ++i)
      if (w.entries[i].node == node) b += w.entries[i].bytes;
    return b;
  }
  // Caps `node` at what it holds now plus `room` bytes.
  void leave_room(int node, uint64_t room) const {
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(rt, node, &s) == TIER_OK);
    REQUIRE(tier_node_set_capacity(rt, node, s.reserved + room) == TIER_OK);
  }
  char *alloc_on(int node, size_t len) {
    const tier_policy p = tier::test::on_node(TIER_MODE_BIND, node);
    auto *ptr = static_cast<char *>(tier_malloc(rt, len, &p));
    REQUIRE(ptr != nullptr);
    std::memset(ptr, 0x11, len);
    return ptr;
  }
};

}  // namespace

TEST_CASE("agent: hot chunks reach the fastest tier within a few epochs") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  const size_t len = 32 * kMiB, hot = 8 * kMiB;
  char *p = rt.alloc_on(cxl, len);
  uint32_t id = 0;
  REQUIRE(tier_region_register(rt.rt, p, len, TIER_GROUP_NONE, 0, &id) == TIER_OK);
  REQUIRE(tier_set_policy(rt.rt, "heat") == TIER_OK);

  int epochs = 0;
  for (; epochs < 10 && rt.on(p, hot, hbm) < hot; ++epochs) {
    for (size_t off = 0; off < hot; off += 2 * kMiB) tier_touch(rt.rt, p + off, 4096, 1000, 100);
    tier_epoch_stats st{};
    st.size = sizeof st;
    REQUIRE(tier_epoch(rt.rt, &st) == TIER_OK);
    CHECK(st.pages_failed == 0);
  }
  CHECK(epochs <= 3);
  CHECK(rt.on(p, hot, hbm) == hot);
  CHECK(rt.on(p + hot, len - hot, cxl) == len - hot);  // cold ones stay where they were

  tier_agent_stats as{};
  as.size = sizeof as;
  REQUIRE(tier_agent_stats_get(rt.rt, &as) == TIER_OK);
  CHECK(as.promotions == hot / (2 * kMiB));
  CHECK(as.bytes_moved == hot);
  CHECK(as.regions == 1);
  CHECK(as.chunks == len / (2 * kMiB));
  CHECK(std::string(as.policy) == "heat");
  CHECK(std::string(as.mover) == "emulated");
  REQUIRE(tier_region_unregister(rt.rt, id) == TIER_OK);
  REQUIRE(tier_free(rt.rt, p) == TIER_OK);
}

TEST_CASE("agent: cold chunks are demoted under pressure; pinned ones stay") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  rt.leave_room(hbm, 16 * kMiB);  // the cold region fills it
  char *cold = rt.alloc_on(hbm, 16 * kMiB);
  char *hotp = rt.alloc_on(cxl, 8 * kMiB);
  uint32_t cold_id = 0, hot_id = 0;
  REQUIRE(tier_region_register(rt.rt, cold, 16 * kMiB, TIER_GROUP_NONE, 0, &cold_id) == TIER_OK);
  REQUIRE(tier_region_register(rt.rt, hotp, 8 * kMiB, TIER_GROUP_WHOLE, 0, &hot_id) == TIER_OK);
  REQUIRE(tier_pin(rt.rt, cold, 2 * kMiB) == TIER_OK);  // the first cold chunk never moves

  for (int e = 0; e < 10 && rt.on(hotp, 8 * kMiB, hbm) < 8 * kMiB; ++e) {
    tier_touch(rt.rt, hotp, 8 * kMiB, 500, 0);
    REQUIRE(tier_epoch(rt.rt, nullptr) == TIER_OK);
  }
  CHECK(rt.on(hotp, 8 * kMiB, hbm) == 8 * kMiB);   // the whole object, moved as one
  CHECK(rt.on(cold, 16 * kMiB, hbm) <= 8 * kMiB);  // room was made by demoting cold chunks
  CHECK(rt.on(cold, 2 * kMiB, hbm) == 2 * kMiB);   // ... but not the pinned one
  tier_agent_stats as{};
  as.size = sizeof as;
  REQUIRE(tier_agent_stats_get(rt.rt, &as) == TIER_OK);
  CHECK(as.demotions >= 4);
  CHECK(as.promotions == 4);
  REQUIRE(tier_unpin(rt.rt, cold, 2 * kMiB) == TIER_OK);
  REQUIRE(tier_region_unregister(rt.rt, cold_id) == TIER_OK);
  REQUIRE(tier_region_unregister(rt.rt, hot_id) == TIER_OK);
  tier_free(rt.rt, cold);
  tier_free(rt.rt, hotp);
}

TEST_CASE("agent: freed large runs cached on the fast tier make room for promotions") {
  // A freed large run stays mapped and charged for reuse; it must not look like a full fast
  // tier to the engine, and the mover takes its room back when a hot chunk needs it.
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  rt.leave_room(hbm, 16 * kMiB);
  char *gone = rt.alloc_on(hbm, 16 * kMiB);
  REQUIRE(tier_free(rt.rt, gone) == TIER_OK);  // cached: HBM is charged to its capacity
  char *hotp = rt.alloc_on(cxl, 8 * kMiB);
  uint32_t id = 0;
  REQUIRE(tier_region_register(rt.rt, hotp, 8 * kMiB, TIER_GROUP_NONE, 0, &id) == TIER_OK);

  uint64_t failed = 0;
  for (int e = 0; e < 10 && rt.on(hotp, 8 * kMiB, hbm) < 8 * kMiB; ++e) {
    tier_touch(rt.rt, hotp, 8 * kMiB, 500, 0);
    tier_epoch_stats st{};
    st.size = sizeof st;
    REQUIRE(tier_epoch(rt.rt, &st) == TIER_OK);
    failed += st.pages_failed;
  }
  CHECK(rt.on(hotp, 8 * kMiB, hbm) == 8 * kMiB);
  CHECK(failed == 0);
  for (size_t off = 0; off < 8 * kMiB; off += 4096) REQUIRE(hotp[off] == 0x11);
  tier_node_stats hs{};
  hs.size = sizeof hs;
  REQUIRE(tier_node_stats_get(rt.rt, hbm, &hs) == TIER_OK);
  CHECK(hs.reserved <= hs.capacity);
  REQUIRE(tier_region_unregister(rt.rt, id) == TIER_OK);
  REQUIRE(tier_free(rt.rt, hotp) == TIER_OK);
}

TEST_CASE("agent thread: promotes on its own, under concurrent touches and allocations") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  const size_t len = 24 * kMiB, hot = 6 * kMiB;
  char *p = rt.alloc_on(cxl, len);
  uint32_t id = 0;
  REQUIRE(tier_region_register(rt.rt, p, len, TIER_GROUP_NONE, 0, &id) == TIER_OK);

  tier_agent_options bad = TIER_AGENT_OPTIONS_INIT;
  bad.period_ms = 0;
  CHECK(tier_agent_start(rt.rt, &bad) == TIER_ECONFIG);
  tier_agent_options o = TIER_AGENT_OPTIONS_INIT;
  o.period_ms = 20;
  REQUIRE(tier_agent_start(rt.rt, &o) == TIER_OK);
  CHECK(tier_agent_start(rt.rt, &o) == TIER_EBUSY);

  std::atomic<bool> stop{false};
  auto toucher = [&] {
    while (!stop) {
      for (size_t off = 0; off < hot; off += 4096) tier_touch(rt.rt, p + off, 64, 1, 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  auto allocator = [&] {
    while (!stop) {
      void *q = tier_malloc(rt.rt, 3 * kMiB, nullptr);
      if (q) {
        std::memset(q, 1, 3 * kMiB);
        tier_free(rt.rt, q);
      }
      void *s = tier_malloc(rt.rt, 256, nullptr);
      tier_free(rt.rt, s);
    }
  };
  std::thread t1(toucher), t2(toucher), t3(allocator);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rt.on(p, hot, hbm) < hot && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  t1.join(), t2.join(), t3.join();
  CHECK(rt.on(p, hot, hbm) == hot);
  tier_agent_stats as{};
  as.size = sizeof as;
  REQUIRE(tier_agent_stats_get(rt.rt, &as) == TIER_OK);
  CHECK(as.running == 1);
  CHECK(as.epochs >= 1);
  CHECK(as.promotions >= hot / (2 * kMiB));
  CHECK(as.last_epoch_ns > 0);
  REQUIRE(tier_agent_stop(rt.rt) == TIER_OK);
  REQUIRE(tier_agent_stats_get(rt.rt, &as) == TIER_OK);
  CHECK(as.running == 0);
  const uint64_t epochs = as.epochs;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  REQUIRE(tier_agent_stats_get(rt.rt, &as) == TIER_OK);
  CHECK(as.epochs == epochs);  // stopped means stopped
  REQUIRE(tier_region_unregister(rt.rt, id) == TIER_OK);
  tier_free(rt.rt, p);
}

TEST_CASE("heat API: bad arguments are reported, never crash") {
  Rt rt;
  uint32_t id = 0;
  CHECK(tier_region_register(rt.rt, nullptr, 10, 0, 0, &id) == TIER_EINVAL);
  CHECK(tier_region_register(nullptr, &id, 10, 0, 0, &id) == TIER_EINVAL);
  CHECK(tier_region_register(rt.rt, &id, sizeof id, 0, 0x80, &id) == TIER_EINVAL);
  CHECK(tier_region_unregister(rt.rt, 12345) == TIER_EINVAL);
  CHECK(tier_set_policy(rt.rt, "no-such-policy") == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("heat") != std::string::npos);
  CHECK(tier_pin(rt.rt, nullptr, 4) == TIER_EINVAL);
  tier_touch(rt.rt, &id, 4, 1, 1);  // untracked: ignored
  tier_touch(nullptr, &id, 4, 1, 1);
  tier_agent_stats as{};
  as.size = 2;
  CHECK(tier_agent_stats_get(rt.rt, &as) == TIER_EINVAL);
}
