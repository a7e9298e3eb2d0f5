// Declared capacity is enforced: a full node makes PREFERRED fall back down the ranking (and
// counts a fallback), makes BIND fail with NULL + TIER_ENOMEM, large runs are reused, and a
// thread whose own arena has no room left on the targets is served from the placement's other
// arenas before it fails (BIND) or goes down the ranking (PREFERRED).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test_runtime_fixture.hpp"
#include "tier/tier.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

struct Rt : tier::test::Rt {
  tier_node_stats stats(int node) const {
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(rt, node, &s) == TIER_OK);
    return s;
  }
};

using tier::test::on_node;

int node_of(tier_runtime *rt, void *p, size_t len) {
  std::memset(p, 1, len);
  tier_where_result w{};
  w.size = sizeof w;
  REQUIRE(tier_where(rt, p, len, &w) == TIER_OK);
  REQUIRE(w.nentries == 1);
  return w.entries[0].node;
}

// A `mode` placement on the CXL node (`*node`), capped at one 2 MiB run, which this thread's
// arena takes with its first block `*first` and keeps mostly free.
tier_placement *one_run_taken(Rt &r, tier_mode mode, int *node, void **first) {
  *node = r.node_of_kind(TIER_KIND_CXL);
  tier_policy policy = on_node(mode, *node);
  tier_placement *pl = tier_placement_get(r.rt, &policy);
  REQUIRE(pl != nullptr);
  REQUIRE(tier_node_set_capacity(r.rt, *node, 2 * kMiB) == TIER_OK);
  *first = tier_malloc_p(r.rt, 64, pl);
  REQUIRE(*first != nullptr);
  return pl;
}

}  // namespace

TEST_CASE("a full node: preferred falls back down the ranking, bind fails with ENOMEM") {
  Rt r;
  const int hbm = r.node_of_kind(TIER_KIND_HBM);
  REQUIRE(tier_node_set_capacity(r.rt, hbm, 4 * kMiB) == TIER_OK);
  tier_node_info info{};
  info.size = sizeof info;
  REQUIRE(tier_node_get(r.rt, hbm, &info) == TIER_OK);
  REQUIRE(info.capacity == 4 * kMiB);

  tier_policy pref = on_node(TIER_MODE_PREFERRED, hbm);
  void *fits = tier_malloc(r.rt, 4 * kMiB, &pref);
  REQUIRE(fits != nullptr);
  REQUIRE(node_of(r.rt, fits, 4 * kMiB) == hbm);

  void *spill = tier_malloc(r.rt, 4 * kMiB, &pref);
  REQUIRE(spill != nullptr);
  int landed = node_of(r.rt, spill, 4 * kMiB);
  REQUIRE(landed != hbm);
  REQUIRE(r.stats(hbm).fallbacks >= 1);
  REQUIRE(r.stats(hbm).reserved <= 4 * kMiB);

  tier_policy bind = on_node(TIER_MODE_BIND, hbm);
  REQUIRE(tier_malloc(r.rt, 2 * kMiB, &bind) == nullptr);
  REQUIRE(tier_last_status() == TIER_ENOMEM);
  REQUIRE(std::string(tier_last_error()).find("no room") != std::string::npos);

  // Freed runs stay cached (and charged) until a placement needs the room back.
  REQUIRE(tier_free(r.rt, fits) == TIER_OK);
  void *again = tier_malloc(r.rt, 2 * kMiB, &bind);
  INFO(tier_last_error());
  REQUIRE(again != nullptr);
  REQUIRE(node_of(r.rt, again, 2 * kMiB) == hbm);
  REQUIRE(tier_free(r.rt, again) == TIER_OK);
  REQUIRE(tier_free(r.rt, spill) == TIER_OK);
}

TEST_CASE("small allocations under bind stop at the capacity with ENOMEM, nothing leaks") {
  Rt r;
  const int cxl = r.node_of_kind(TIER_KIND_CXL);
  REQUIRE(tier_node_set_capacity(r.rt, cxl, 8 * kMiB) == TIER_OK);
  tier_placement *pl = tier_placement_get(r.rt, nullptr);
  tier_policy bind = on_node(TIER_MODE_BIND, cxl);
  pl = tier_placement_get(r.rt, &bind);
  REQUIRE(pl != nullptr);
  std::vector<void *> live;
  size_t total = 0;
  for (int i = 0; i < 100000; ++i) {
    void *p = tier_malloc_p(r.rt, 64 * 1024, pl);
    if (p == nullptr) break;
    live.push_back(p);
    total += tier_usable_size(r.rt, p);
  }
  REQUIRE(tier_last_status() == TIER_ENOMEM);
  REQUIRE(!live.empty());
  REQUIRE(total <= 8 * kMiB);
  tier_node_stats s = r.stats(cxl);
  REQUIRE(s.allocated == total);
  REQUIRE(s.allocations == live.size());
  REQUIRE(s.reserved <= 8 * kMiB);
  for (void *p : live) REQUIRE(tier_free(r.rt, p) == TIER_OK);
  s = r.stats(cxl);
  REQUIRE(s.allocated == 0);
  REQUIRE(s.allocations == 0);
}

TEST_CASE("large runs are reused after free") {
  Rt r;
  tier_policy p = TIER_POLICY_INIT;
  void *a = tier_malloc(r.rt, 6 * kMiB, &p);
  REQUIRE(a != nullptr);
  REQUIRE(tier_usable_size(r.rt, a) == 6 * kMiB);
  std::memset(a, 7, 6 * kMiB);
  REQUIRE(tier_free(r.rt, a) == TIER_OK);
  void *b = tier_malloc(r.rt, 5 * kMiB + 1, &p);
  REQUIRE(b == a);
  // calloc on a reused run must still see zeros.
  REQUIRE(tier_free(r.rt, b) == TIER_OK);
  auto *c = static_cast<unsigned char *>(tier_calloc(r.rt, 6, kMiB, &p));
  REQUIRE(static_cast<void *>(c) == a);
  for (size_t i = 0; i < 6 * kMiB; i += 4096) REQUIRE(c[i] == 0);
  REQUIRE(tier_free(r.rt, c) == TIER_OK);
}

TEST_CASE("lowering a capacity below use refuses new placements, loses nothing") {
  Rt r;
  const int dram = r.node_of_kind(TIER_KIND_DRAM);
  tier_policy bind = on_node(TIER_MODE_BIND, dram);
  void *a = tier_malloc(r.rt, 4 * kMiB, &bind);
  REQUIRE(a != nullptr);
  std::memset(a, 3, 4 * kMiB);
  REQUIRE(tier_node_set_capacity(r.rt, dram, 2 * kMiB) == TIER_OK);
  REQUIRE(tier_malloc(r.rt, 2 * kMiB, &bind) == nullptr);
  REQUIRE(tier_last_status() == TIER_ENOMEM);
  REQUIRE(static_cast<unsigned char *>(a)[4 * kMiB - 1] == 3);
  REQUIRE(tier_free(r.rt, a) == TIER_OK);
  REQUIRE(tier_node_set_capacity(r.rt, 12345, kMiB) == TIER_ENODEV);
}

TEST_CASE("a thread whose arena cannot grow is served by another arena of the placement") {
  Rt r;
  int cxl = -1;
  void *first = nullptr;
  tier_placement *pl = one_run_taken(r, TIER_MODE_BIND, &cxl, &first);
  // Another thread is given an arena of its own (with two or more CPUs), which finds no room
  // for a run of its own; the first arena's free blocks serve it instead of ENOMEM.
  void *second = nullptr;
  std::string error;
  std::thread([&] {
    second = tier_malloc_p(r.rt, 64, pl);
    if (second == nullptr) error = tier_last_error();
  }).join();
  INFO(error);
  REQUIRE(second != nullptr);
  REQUIRE(node_of(r.rt, second, 64) == cxl);
  REQUIRE(r.stats(cxl).reserved <= 2 * kMiB);
  REQUIRE(tier_free(r.rt, second) == TIER_OK);
  REQUIRE(tier_free(r.rt, first) == TIER_OK);
}

TEST_CASE("under preferred, a thread's new arena uses the target's free blocks first") {
  Rt r;
  int cxl = -1;
  void *first = nullptr;
  tier_placement *pl = one_run_taken(r, TIER_MODE_PREFERRED, &cxl, &first);
  // Another thread: its own arena finds no room on the target, the first arena's free blocks
  // serve it there; once the target is really full, blocks go down the ranking, never fail.
  void *second = nullptr;
  std::vector<void *> more;
  std::thread([&] {
    second = tier_malloc_p(r.rt, 64, pl);
    for (size_t total = 0; total < 4 * kMiB; total += 64 * 1024)
      more.push_back(tier_malloc_p(r.rt, 64 * 1024, pl));
  }).join();
  REQUIRE(second != nullptr);
  REQUIRE(node_of(r.rt, second, 64) == cxl);
  for (void *p : more) REQUIRE(p != nullptr);
  REQUIRE(node_of(r.rt, more.back(), 64 * 1024) != cxl);
  REQUIRE(r.stats(cxl).fallbacks >= 1);
  for (void *p : more) REQUIRE(tier_free(r.rt, p) == TIER_OK);
  REQUIRE(tier_free(r.rt, second) == TIER_OK);
  REQUIRE(tier_free(r.rt, first) == TIER_OK);
}
