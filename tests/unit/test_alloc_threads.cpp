// Statistics stay exact under 8 threads (allocated == the sum of live usable sizes, per node),
// cross-thread frees go back to the right placement, realloc keeps the data when the block
// crosses tiers, and threads of one placement get arenas of their own unless the runtime asks
// for one shared arena.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <jemalloc/jemalloc.h>

#include "alloc/arena.hpp"
#include "alloc/placement.hpp"
#include "test_runtime_fixture.hpp"
#include "tier/tier.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

struct Rt : tier::test::Rt {
  using tier::test::Rt::Rt;
  std::vector<int> node_ids() const {
    std::vector<int> ids;
    for (int i = 0; i < tier_node_count(rt); ++i) {
      tier_node_info info{};
      info.size = sizeof info;
      REQUIRE(tier_node_at(rt, i, &info) == TIER_OK);
      ids.push_back(info.id);
    }
    return ids;
  }
};

tier_policy bind_to(int node) {
  return tier::test::on_node(TIER_MODE_BIND, node);
}

// The single node a block (touched at its first byte) lives on.
int node_of(tier_runtime *rt, void *p) {
  tier_where_result w{};
  w.size = sizeof w;
  REQUIRE(tier_where(rt, p, 1, &w) == TIER_OK);
  REQUIRE(w.nentries == 1);
  return w.entries[0].node;
}

}  // namespace

TEST_CASE("statistics are exact under 8 threads") {
  Rt r;
  std::vector<int> ids = r.node_ids();
  std::vector<tier_placement *> placements;
  for (int id : ids) {
    tier_policy p = bind_to(id);
    placements.push_back(tier_placement_get(r.rt, &p));
    REQUIRE(placements.back() != nullptr);
  }

  // Catch2 assertions are not thread-safe: threads count failures, the main thread checks.
  std::atomic<int> failures{0};
  constexpr int kThreads = 8;
  std::vector<std::vector<void *>> kept(kThreads);
  std::vector<std::thread> threads;
  std::mutex handoff_mu;
  std::vector<void *> handoff;  // blocks allocated by one thread, freed by another
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      std::vector<void *> live;
      for (int i = 0; i < 20000; ++i) {
        unsigned op = rng() % 100;
        if (op < 55 || live.empty()) {
          size_t size = (rng() % 100 == 0) ? 2 * kMiB + rng() % (3 * kMiB) : 1 + rng() % 8192;
          tier_placement *pl = placements[rng() % placements.size()];
          void *p = tier_malloc_p(r.rt, size, pl);
          if (p == nullptr) continue;  // a tier may fill up; that is allowed
          static_cast<char *>(p)[0] = 1;
          live.push_back(p);
        } else if (op < 60) {
          std::lock_guard<std::mutex> lock(handoff_mu);
          handoff.push_back(live.back());
          live.pop_back();
        } else if (op < 65) {
          void *p = nullptr;
          {
            std::lock_guard<std::mutex> lock(handoff_mu);
            if (!handoff.empty()) p = handoff.back(), handoff.pop_back();
          }
          if (p && tier_free(r.rt, p) != TIER_OK) failures.fetch_add(1);
        } else {
          size_t k = rng() % live.size();
          if (tier_free(r.rt, live[k]) != TIER_OK) failures.fetch_add(1);
          live[k] = live.back();
          live.pop_back();
        }
      }
      kept[t] = std::move(live);
    });
  }
  for (auto &th : threads) th.join();
  REQUIRE(failures == 0);
  for (void *p : handoff) kept[0].push_back(p);

  std::map<int, uint64_t> bytes, count;
  for (auto &list : kept) {
    for (void *p : list) {
      bytes[node_of(r.rt, p)] += tier_usable_size(r.rt, p);
      count[node_of(r.rt, p)] += 1;
    }
  }
  for (int id : ids) {
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(r.rt, id, &s) == TIER_OK);
    INFO("node " << id);
    REQUIRE(s.allocated == bytes[id]);
    REQUIRE(s.allocations == count[id]);
    REQUIRE(s.reserved >= s.allocated);
    REQUIRE(s.peak >= s.reserved);
    REQUIRE(s.resident <= s.reserved);
  }
  tier_node_stats tier0{};
  tier0.size = sizeof tier0;
  REQUIRE(tier_tier_stats_get(r.rt, 0, &tier0) == TIER_OK);
  REQUIRE(tier0.node == -1);

  for (auto &list : kept)
    for (void *p : list) REQUIRE(tier_free(r.rt, p) == TIER_OK);
  for (int id : ids) {
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(r.rt, id, &s) == TIER_OK);
    REQUIRE(s.allocated == 0);
    REQUIRE(s.allocations == 0);
  }
}

TEST_CASE("realloc keeps the data when the block crosses tiers") {
  Rt r;
  const int hbm = r.node_of_kind(TIER_KIND_HBM);
  const int cxl = r.node_of_kind(TIER_KIND_CXL);
  const int pool = r.node_of_kind(TIER_KIND_CXL_POOL);
  tier_policy on_hbm = bind_to(hbm), on_cxl = bind_to(cxl), on_pool = bind_to(pool);

  auto fill = [](void *p, size_t n, unsigned seed) {
    auto *b = static_cast<unsigned char *>(p);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i * 31 + seed);
  };
  auto same = [](const void *p, size_t n, unsigned seed) {
    auto *b = static_cast<const unsigned char *>(p);
    for (size_t i = 0; i < n; ++i)
      if (b[i] != static_cast<unsigned char>(i * 31 + seed)) return false;
    return true;
  };

  SECTION("small to small") {
    void *p = tier_malloc(r.rt, 3000, &on_hbm);
    fill(p, 3000, 1);
    void *q = tier_realloc_policy(r.rt, p, 5000, &on_cxl);
    REQUIRE(q != nullptr);
    REQUIRE(same(q, 3000, 1));
    REQUIRE(node_of(r.rt, q) == cxl);
    REQUIRE(tier_free(r.rt, q) == TIER_OK);
  }
  SECTION("small to large to small") {
    void *p = tier_malloc(r.rt, 100000, &on_hbm);
    fill(p, 100000, 2);
    void *q = tier_realloc_policy(r.rt, p, 5 * kMiB, &on_pool);
    REQUIRE(q != nullptr);
    REQUIRE(same(q, 100000, 2));
    REQUIRE(node_of(r.rt, q) == pool);
    fill(q, 5 * kMiB, 3);
    void *s = tier_realloc_policy(r.rt, q, 4096, &on_hbm);
    REQUIRE(s != nullptr);
    REQUIRE(same(s, 4096, 3));
    REQUIRE(node_of(r.rt, s) == hbm);
    REQUIRE(tier_free(r.rt, s) == TIER_OK);
  }
  SECTION("large to large across tiers, then grow in place of policy") {
    void *p = tier_malloc(r.rt, 6 * kMiB, &on_cxl);
    fill(p, 6 * kMiB, 4);
    void *q = tier_realloc_policy(r.rt, p, 6 * kMiB, &on_hbm);
    REQUIRE(q != nullptr);
    REQUIRE(same(q, 6 * kMiB, 4));
    REQUIRE(node_of(r.rt, q) == hbm);
    void *g = tier_realloc(r.rt, q, 9 * kMiB);
    REQUIRE(g != nullptr);
    REQUIRE(same(g, 6 * kMiB, 4));
    REQUIRE(node_of(r.rt, g) == hbm);  // tier_realloc keeps the block's policy
    REQUIRE(tier_free(r.rt, g) == TIER_OK);
  }
  SECTION("plain realloc grows a small block under its own placement") {
    void *p = tier_malloc(r.rt, 16, &on_pool);
    fill(p, 16, 5);
    for (size_t n = 32; n < 1 << 20; n *= 2) {
      p = tier_realloc(r.rt, p, n);
      REQUIRE(p != nullptr);
      REQUIRE(same(p, 16, 5));
      REQUIRE(node_of(r.rt, p) == pool);
    }
    REQUIRE(tier_free(r.rt, p) == TIER_OK);
  }
  for (int id : r.node_ids()) {
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(r.rt, id, &s) == TIER_OK);
    REQUIRE(s.allocated == 0);
  }
}

TEST_CASE("statistics stay exact with more threads than counter stripes") {
  Rt r;
  tier_placement *pl = tier_placement_get(r.rt, nullptr);
  REQUIRE(pl != nullptr);
  // 100 concurrent threads: more than the 63 exclusive stripes, so some share stripe 0; then a
  // second wave reuses the stripes the first one gave back at exit.
  std::vector<void *> kept;
  std::mutex mu;
  std::atomic<int> failures{0};
  for (int wave = 0; wave < 2; ++wave) {
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int t = 0; t < 100; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < 100) std::this_thread::yield();  // all alive at once
        for (int i = 0; i < 50; ++i) {
          void *p = tier_malloc_p(r.rt, 8 + (t * 50 + i) % 3000, pl);
          if (p == nullptr) {
            failures.fetch_add(1);
          } else if (i % 2) {
            if (tier_free(r.rt, p) != TIER_OK) failures.fetch_add(1);
          } else {
            std::lock_guard<std::mutex> lock(mu);
            kept.push_back(p);
          }
        }
      });
    }
    for (auto &th : threads) th.join();
  }
  REQUIRE(failures == 0);
  uint64_t live = 0;
  for (void *p : kept) live += tier_usable_size(r.rt, p);
  uint64_t allocated = 0, allocations = 0;
  for (int id : r.node_ids()) {
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(r.rt, id, &s) == TIER_OK);
    allocated += s.allocated;
    allocations += s.allocations;
  }
  REQUIRE(allocated == live);
  REQUIRE(allocations == kept.size());
  for (void *p : kept) REQUIRE(tier_free(r.rt, p) == TIER_OK);
}

namespace {

// The jemalloc arena that carved block `p`.
unsigned arena_of(void *p) {
  unsigned ind = 0;
  size_t len = sizeof ind;
  REQUIRE(tierje_mallctl("arenas.lookup", &ind, &len, &p, sizeof p) == 0);
  return ind;
}

// One block from each of two threads of `pl` that are alive at the same time.
std::pair<void *, void *> one_block_per_thread(tier_runtime *rt, tier_placement *pl) {
  void *got[2] = {};
  std::atomic<int> allocated{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      got[t] = tier_malloc_p(rt, 64, pl);
      allocated.fetch_add(1);
      while (allocated.load() < 2) std::this_thread::yield();  // stay alive until both have
    });
  }
  for (auto &th : threads) th.join();
  REQUIRE(got[0] != nullptr);
  REQUIRE(got[1] != nullptr);
  return {got[0], got[1]};
}

}  // namespace

TEST_CASE("two threads of a placement allocate from separate arenas") {
  Rt r;
  tier_placement *pl = tier_placement_get(r.rt, nullptr);
  REQUIRE(pl != nullptr);
  auto [a, b] = one_block_per_thread(r.rt, pl);
  // One arena per CPU the process may use, up to 8: a one-CPU machine has just one.
  if (pl->binding->slots >= 2) {
    REQUIRE(arena_of(a) != arena_of(b));
  } else {
    REQUIRE(arena_of(a) == arena_of(b));
  }
  static_cast<char *>(a)[0] = static_cast<char *>(b)[0] = 1;  // fault the pages in
  REQUIRE(node_of(r.rt, a) == node_of(r.rt, b));  // the placement's node, whichever arena
  REQUIRE(tier_free(r.rt, a) == TIER_OK);
  REQUIRE(tier_free(r.rt, b) == TIER_OK);
}

TEST_CASE("TIER_RUNTIME_SHARED_ARENA keeps one arena per placement") {
  Rt r(TIER_RUNTIME_SHARED_ARENA);
  tier_placement *pl = tier_placement_get(r.rt, nullptr);
  REQUIRE(pl != nullptr);
  REQUIRE(pl->binding->slots == 1);
  auto [a, b] = one_block_per_thread(r.rt, pl);
  REQUIRE(arena_of(a) == arena_of(b));
  REQUIRE(tier_free(r.rt, a) == TIER_OK);
  REQUIRE(tier_free(r.rt, b) == TIER_OK);
}
