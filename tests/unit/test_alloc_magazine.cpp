// The per-thread small-block magazines in front of jemalloc (libtier/alloc/magazine.hpp): a
// thread's cached blocks go back to the arena when it exits, statistics stay exact while
// many short-lived threads churn (cached blocks count as not allocated), a block freed
// into a magazine is handed out again with its node accounted, and the page -> size class
// map that tier_free reads instead of asking jemalloc agrees with jemalloc on every path.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "alloc/class_map.hpp"
#include "alloc/magazine.hpp"
#include "alloc/placement.hpp"
#include "test_runtime_fixture.hpp"
#include "tier/tier.h"

namespace {

using tier::test::Rt;

tier_placement *bound_placement(tier_runtime *rt, int node_index) {
  tier_node_info info{};
  info.size = sizeof info;
  REQUIRE(tier_node_at(rt, node_index, &info) == TIER_OK);
  tier_policy p = tier::test::on_node(TIER_MODE_BIND, info.id);
  tier_placement *pl = tier_placement_get(rt, &p);
  REQUIRE(pl != nullptr);
  return pl;
}

// Sum of `allocated` and `allocations` over all nodes.
std::pair<uint64_t, uint64_t> totals(tier_runtime *rt) {
  uint64_t bytes = 0, count = 0;
  for (int i = 0; i < tier_node_count(rt); ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    REQUIRE(tier_node_at(rt, i, &info) == TIER_OK);
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(rt, info.id, &s) == TIER_OK);
    bytes += s.allocated;
    count += s.allocations;
  }
  return {bytes, count};
}

}  // namespace

TEST_CASE("a thread's cached blocks go back to the arena when it exits") {
  Rt r;
  tier_placement *pl = bound_placement(r.rt, 0);
  REQUIRE(tier::alloc::arena_small_outstanding(pl) == 0);

  // Catch2 assertions are not thread-safe: the worker counts failures, the main thread checks.
  int failures = 0;
  size_t cached_in_thread = 0;
  uint64_t outstanding_in_thread = 0;
  std::thread worker([&] {
    std::vector<void *> blocks;
    for (int i = 0; i < 2000; ++i) {
      void *p = tier_malloc_p(r.rt, 1 + (i * 37) % 4096, pl);
      if (p == nullptr)
        ++failures;
      else
        blocks.push_back(p);
    }
    for (void *p : blocks) failures += tier_free(r.rt, p) != TIER_OK;
    cached_in_thread = tier::alloc::magazine_cached_blocks(pl->gid);
    outstanding_in_thread = tier::alloc::arena_small_outstanding(pl);
  });
  worker.join();
  REQUIRE(failures == 0);
  // While the thread lived, its magazine (and tcache) held blocks out of the arena, but none
  // of them counted as allocated.
  REQUIRE(cached_in_thread > 0);
  REQUIRE(outstanding_in_thread >= cached_in_thread);
  REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{0, 0});
  // Thread exit flushed the magazine into the tcache, and the tcache into the arena.
  REQUIRE(tier::alloc::arena_small_outstanding(pl) == 0);
}

TEST_CASE("a freed block is reused from the magazine and accounted on its node") {
  Rt r;
  tier_placement *pl = bound_placement(r.rt, 1);
  void *p = tier_malloc_p(r.rt, 100, pl);
  REQUIRE(p != nullptr);
  const size_t usable = tier_usable_size(r.rt, p);
  REQUIRE(usable >= 100);
  REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{usable, 1});
  REQUIRE(tier_free(r.rt, p) == TIER_OK);
  REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{0, 0});
  REQUIRE(tier::alloc::magazine_cached_blocks(pl->gid) > 0);
  // Any size of the same class takes the block just freed (LIFO).
  void *q = tier_malloc_p(r.rt, usable, pl);
  REQUIRE(q == p);
  REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{usable, 1});
  tier_node_info info{};
  info.size = sizeof info;
  REQUIRE(tier_node_at(r.rt, 1, &info) == TIER_OK);
  tier_node_stats s{};
  s.size = sizeof s;
  REQUIRE(tier_node_stats_get(r.rt, info.id, &s) == TIER_OK);
  REQUIRE(s.allocated == usable);
  REQUIRE(tier_free(r.rt, q) == TIER_OK);
}

TEST_CASE("statistics stay exact while many short-lived threads churn") {
  Rt r;
  std::vector<tier_placement *> placements;
  for (int i = 0; i < tier_node_count(r.rt); ++i) placements.push_back(bound_placement(r.rt, i));
  tier_policy inter = TIER_POLICY_INIT;
  inter.mode = TIER_MODE_INTERLEAVE;
  placements.push_back(tier_placement_get(r.rt, &inter));
  REQUIRE(placements.back() != nullptr);

  std::mutex mu;
  std::vector<void *> survivors;  // blocks left live by exited threads, freed by later ones
  std::atomic<int> failures{0};
  constexpr int kWaves = 6, kThreadsPerWave = 6;
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreadsPerWave; ++t) {
      threads.emplace_back([&, seed = wave * 100 + t] {
        std::mt19937 rng(seed);
        std::vector<void *> live;
        for (int i = 0; i < 3000; ++i) {
          if (rng() % 100 < 55 || live.empty()) {
            size_t size = rng() % 50 == 0 ? 4097 + rng() % 20000 : 1 + rng() % 4096;
            void *p = tier_malloc_p(r.rt, size, placements[rng() % placements.size()]);
            if (p != nullptr) live.push_back(p);
          } else {
            size_t k = rng() % live.size();
            if (tier_free(r.rt, live[k]) != TIER_OK) failures.fetch_add(1);
            live[k] = live.back();
            live.pop_back();
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        // Free some blocks other (exited) threads left, keep some of ours for later waves.
        for (int i = 0; i < 50 && !survivors.empty(); ++i) {
          if (tier_free(r.rt, survivors.back()) != TIER_OK) failures.fetch_add(1);
          survivors.pop_back();
        }
        for (size_t i = 0; i < live.size(); ++i) {
          if (i % 4 == 0) {
            survivors.push_back(live[i]);
          } else if (tier_free(r.rt, live[i]) != TIER_OK) {
            failures.fetch_add(1);
          }
        }
      });
    }
    for (auto &th : threads) th.join();
    REQUIRE(failures == 0);
    uint64_t bytes = 0;
    for (void *p : survivors) bytes += tier_usable_size(r.rt, p);
    INFO("wave " << wave);
    REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{bytes, survivors.size()});
  }
  for (void *p : survivors) REQUIRE(tier_free(r.rt, p) == TIER_OK);
  REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{0, 0});
}

TEST_CASE("destroying a runtime drops the calling thread's magazines") {
  uint32_t gid = 0;
  {
    Rt r;
    tier_placement *pl = bound_placement(r.rt, 0);
    gid = pl->gid;
    for (int i = 0; i < 10; ++i) REQUIRE(tier_free(r.rt, tier_malloc_p(r.rt, 64, pl)) == TIER_OK);
    REQUIRE(tier::alloc::magazine_cached_blocks(gid) > 0);
  }
  REQUIRE(tier::alloc::magazine_cached_blocks(gid) == 0);
}

TEST_CASE("tier_free learns the right size on every allocation path, on reused pages too") {
  Rt r;
  tier_placement *pl = bound_placement(r.rt, 0);
  tier::alloc::ClassMap *cm = tier::alloc::ClassMap::existing();
  REQUIRE(cm != nullptr);

  // A thread fills pages with 4 KiB and 2 KiB blocks and frees them; its exit returns them
  // to the arena, whose emptied slabs are then carved again for the other sizes below.
  int failures = 0;
  std::thread([&] {
    std::vector<void *> blocks;
    for (int i = 0; i < 400; ++i) blocks.push_back(tier_malloc_p(r.rt, i % 2 ? 4096 : 2048, pl));
    for (void *p : blocks) failures += p == nullptr || tier_free(r.rt, p) != TIER_OK;
  }).join();
  REQUIRE(failures == 0);

  std::vector<void *> live;
  for (int i = 0; i < 100; ++i) {
    live.push_back(tier_malloc_p(r.rt, 1 + (i * 97) % 4096, pl));  // magazine
    live.push_back(tier_malloc_p(r.rt, 4097 + i * 300, pl));       // direct, above 4 KiB
    live.push_back(tier_aligned_alloc_p(r.rt, 256, 24 + i, pl));   // direct, aligned
    live.push_back(tier_calloc(r.rt, 3, 40 + i, nullptr));         // direct, zeroed
    live.push_back(tier_realloc(r.rt, tier_malloc_p(r.rt, 20, pl), 3000 + i));  // grown
    live.push_back(tier_realloc(r.rt, tier_malloc_p(r.rt, 9000, pl), 30 + i));  // shrunk
  }
  uint64_t bytes = 0;
  for (void *p : live) {
    REQUIRE(p != nullptr);
    const size_t usable = tier_usable_size(r.rt, p);
    bytes += usable;
    const unsigned c = cm->get(p);
    INFO("block of " << usable << " bytes");
    if (usable <= tier::alloc::kMagMaxSize) {
      REQUIRE(c != 0);
      REQUIRE(tier::alloc::g_size_classes.size[c - 1] == usable);
    } else {
      REQUIRE(c == 0);
    }
  }
  REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{bytes, live.size()});
  for (void *p : live) REQUIRE(tier_free(r.rt, p) == TIER_OK);
  REQUIRE(totals(r.rt) == std::pair<uint64_t, uint64_t>{0, 0});
}
