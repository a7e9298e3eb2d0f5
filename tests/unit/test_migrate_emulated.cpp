// The emulated mover on the `default` preset: a move is recorded (tier_where, node stats),
// the bytes survive the physical relocation, granules already on the target are skipped, a
// full target refuses, the byte-rate limit holds, and failures (memory Tier does not own, an
// mbind that fails) are reported with the accounting left as it was.
#include <catch2/catch.hpp>
#include <errno.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "migrate/mover.hpp"
#include "prim/os.hpp"
#include "tier/tier.h"

using namespace tier;
using namespace tier::migrate;

namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kGranule = 2 * kMiB;

struct Rt {
  tier_runtime *rt = nullptr;
  Rt() {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    o.topology = "default";
    REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  }
  ~Rt() { tier_runtime_destroy(rt); }
  int node_of_kind(tier_node_kind kind) const {
    for (int i = 0; i < tier_node_count(rt); ++i) {
      tier_node_info info{};
      info.size = sizeof info;
      REQUIRE(tier_node_at(rt, i, &info) == TIER_OK);
      if (info.kind == kind) return info.id;
    }
    return -1;
  }
  tier_node_stats stats(int node) const {
    tier_node_stats s{};
    s.size = sizeof s;
    REQUIRE(tier_node_stats_get(rt, node, &s) == TIER_OK);
    return s;
  }
  // Bytes of [p, p+len) tier_where reports on `node`.
  uint64_t on(void *p, size_t len, int node) const {
    tier_where_result w{};
    w.size = sizeof w;
    REQUIRE(tier_where(rt, p, len, &w) == TIER_OK);
    uint64_t b = 0;
    for (int i = 0; i < w.nentries; ++i)
      if (w.entries[i].node == node) b += w.entries[i].bytes;
    return b;
  }
  void *alloc_on(int node, size_t len) {
    tier_policy p = TIER_POLICY_INIT;
    p.mode = TIER_MODE_BIND;
    p.select = TIER_SELECT_NODES;
    p.nnodes = 1;
    p.nodes[0] = node;
    void *ptr = tier_malloc(rt, len, &p);
    REQUIRE(ptr != nullptr);
    REQUIRE(reinterpret_cast<uintptr_t>(ptr) % kGranule == 0);
    return ptr;
  }
};

std::vector<MoveRange> chunks_of(void *p, size_t len, int from, int to) {
  std::vector<MoveRange> r;
  for (size_t off = 0; off < len; off += kGranule)
    r.push_back({reinterpret_cast<uintptr_t>(p) + off, kGranule, from, to, off / kGranule});
  return r;
}

void fill(void *p, size_t len, uint64_t seed) {
  auto *w = static_cast<uint64_t *>(p);
  for (size_t i = 0; i < len / 8; ++i) w[i] = seed * 0x9e3779b97f4a7c15ull + i;
}
bool intact(const void *p, size_t len, uint64_t seed) {
  auto *w = static_cast<const uint64_t *>(p);
  for (size_t i = 0; i < len / 8; ++i)
    if (w[i] != seed * 0x9e3779b97f4a7c15ull + i) return false;
  return true;
}

}  // namespace

TEST_CASE("emulated mover: records the move, moves the accounting, keeps the bytes") {
  Rt rt;
  const int dram = rt.node_of_kind(TIER_KIND_DRAM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  REQUIRE(dram >= 0);
  REQUIRE(cxl >= 0);
  const size_t len = 16 * kMiB;
  void *p = rt.alloc_on(dram, len);
  fill(p, len, 42);
  const tier_node_stats d0 = rt.stats(dram), c0 = rt.stats(cxl);
  REQUIRE(rt.on(p, len, dram) == len);

  Result<Mover> m = Mover::emulated(rt.rt);
  REQUIRE(m.ok());
  CHECK(std::string(m->name()) == "emulated");
  std::vector<RangeOutcome> out;
  MoveStats st;
  // Half of it: the first 4 granules.
  REQUIRE(m->move(chunks_of(p, len / 2, dram, cxl), &out, &st).ok());
  for (const RangeOutcome &o : out) CHECK(o.outcome == Outcome::kMoved);
  CHECK(st.bytes_moved == len / 2);
  CHECK(st.pages_moved == len / 2 / 4096);
  CHECK(st.modelled_s > 0);
  CHECK(rt.on(p, len, cxl) == len / 2);
  CHECK(rt.on(p, len, dram) == len / 2);
  CHECK(intact(p, len, 42));
  const tier_node_stats d1 = rt.stats(dram), c1 = rt.stats(cxl);
  CHECK(d0.reserved - d1.reserved == len / 2);
  CHECK(c1.reserved - c0.reserved == len / 2);
  CHECK(d0.allocated - d1.allocated == len / 2);
  CHECK(c1.allocated - c0.allocated == len / 2);

  // Again over the whole: the moved half is skipped, the rest moves; the memory stays writable.
  MoveStats st2;
  REQUIRE(m->move(chunks_of(p, len, dram, cxl), &out, &st2).ok());
  CHECK(st2.pages_skipped == len / 2 / 4096);
  CHECK(st2.bytes_moved == len / 2);
  CHECK(out[0].outcome == Outcome::kInPlace);
  CHECK(out[7].outcome == Outcome::kMoved);
  CHECK(rt.on(p, len, cxl) == len);
  fill(p, len, 43);
  CHECK(intact(p, len, 43));

  // Freeing returns the charge to the node the granules are on now.
  REQUIRE(tier_free(rt.rt, p) == TIER_OK);
  CHECK(rt.stats(cxl).allocated == c0.allocated);
}

TEST_CASE("emulated mover: a full target refuses and nothing changes") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  const size_t len = 8 * kMiB;
  void *p = rt.alloc_on(cxl, len);
  fill(p, len, 7);
  const tier_node_stats h0 = rt.stats(hbm);
  // Room for exactly two more granules on HBM.
  REQUIRE(tier_node_set_capacity(rt.rt, hbm, h0.reserved + 2 * kGranule) == TIER_OK);
  Result<Mover> m = Mover::emulated(rt.rt);
  REQUIRE(m.ok());
  std::vector<RangeOutcome> out;
  MoveStats st;
  REQUIRE(m->move(chunks_of(p, len, cxl, hbm), &out, &st).ok());
  CHECK(out[0].outcome == Outcome::kMoved);
  CHECK(out[1].outcome == Outcome::kMoved);
  CHECK(out[2].outcome == Outcome::kRefused);
  CHECK(out[3].outcome == Outcome::kRefused);
  CHECK(out[2].error == ENOSPC);
  CHECK(st.ranges_refused == 2);
  CHECK(st.pages_failed == 2 * kGranule / 4096);
  CHECK(rt.on(p, len, hbm) == 2 * kGranule);
  CHECK(rt.on(p, len, cxl) == 2 * kGranule);
  CHECK(rt.stats(hbm).reserved == h0.reserved + 2 * kGranule);
  CHECK(intact(p, len, 7));
  REQUIRE(tier_free(rt.rt, p) == TIER_OK);
}

TEST_CASE("emulated mover: memory Tier does not own and a failing mbind are reported") {
  Rt rt;
  const int dram = rt.node_of_kind(TIER_KIND_DRAM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  Result<Mover> m = Mover::emulated(rt.rt);
  REQUIRE(m.ok());

  void *foreign =
      mmap(nullptr, 2 * kGranule, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(foreign != MAP_FAILED);
  std::vector<RangeOutcome> out;
  MoveStats st;
  REQUIRE(
      m->move({{reinterpret_cast<uintptr_t>(foreign), kGranule, dram, cxl, 1}}, &out, &st).ok());
  CHECK(out[0].outcome == Outcome::kFailed);
  CHECK(out[0].error == EINVAL);
  munmap(foreign, 2 * kGranule);

  const size_t len = 4 * kMiB;
  void *p = rt.alloc_on(dram, len);
  fill(p, len, 9);
  const tier_node_stats d0 = rt.stats(dram), c0 = rt.stats(cxl);
  static prim::Ops failing;
  failing = prim::linux_ops();
  failing.name = "mbind-fails";
  failing.mbind = [](void *, size_t, int, const unsigned long *, unsigned long, unsigned) {
    return ENOMEM;
  };
  Result<const prim::Ops *> prev = prim::set_ops(&failing);
  REQUIRE(prev.ok());
  MoveStats st2;
  Status s = m->move(chunks_of(p, len, dram, cxl), &out, &st2);
  (void)prim::set_ops(*prev);
  REQUIRE(s.ok());
  CHECK(out[0].outcome == Outcome::kFailed);
  CHECK(out[0].error == ENOMEM);
  CHECK(st2.pages_failed == len / 4096);
  CHECK(st2.bytes_moved == 0);
  CHECK(rt.on(p, len, dram) == len);
  CHECK(rt.stats(dram).reserved == d0.reserved);
  CHECK(rt.stats(cxl).reserved == c0.reserved);
  CHECK(intact(p, len, 9));
  fill(p, len, 10);  // still writable: the failed relocation restored the protection
  CHECK(intact(p, len, 10));
  REQUIRE(tier_free(rt.rt, p) == TIER_OK);
}

TEST_CASE("emulated mover: the byte-rate limit is honoured") {
  Rt rt;
  const int dram = rt.node_of_kind(TIER_KIND_DRAM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  const size_t len = 16 * kMiB;
  void *p = rt.alloc_on(dram, len);
  fill(p, len, 3);
  EmulatedMoverOptions o;
  o.rate.bytes_per_second = 32ull << 20;
  o.rate.burst_bytes = 4ull << 20;
  Result<Mover> m = Mover::emulated(rt.rt, o);
  REQUIRE(m.ok());
  std::vector<RangeOutcome> out;
  MoveStats st;
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(m->move(chunks_of(p, len, dram, cxl), &out, &st).ok());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // (16 MiB - 4 MiB burst) / 32 MiB/s = 0.375 s at least.
  CHECK(s >= 0.37);
  CHECK(st.throttled_ns > 0);  // the copying itself also took time while tokens refilled
  CHECK(st.bytes_moved == len);
  CHECK(intact(p, len, 3));
  REQUIRE(tier_free(rt.rt, p) == TIER_OK);
}

TEST_CASE("emulated mover: refused on a real topology") {
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "machine";
  tier_runtime *rt = nullptr;
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  Result<Mover> m = Mover::emulated(rt);
  CHECK(!m.ok());
  CHECK(m.status() == TIER_EINVAL);
  tier_runtime_destroy(rt);
}

namespace {
// For the race test below: a residency (mincore) wrapper that starts a writer on the range
// being relocated and gives it 50 ms before answering.
std::atomic<char *> g_race_target{nullptr};
std::atomic<bool> g_race_wrote{false};
bool g_race_wrote_before_answer = false;
std::thread g_race_writer;
const prim::Ops *g_race_real = nullptr;

int racing_residency(void *addr, size_t len, unsigned char *vec) {
  char *t = g_race_target.load();
  if (t && addr == t && !g_race_writer.joinable()) {
    g_race_writer = std::thread([t] {
      *reinterpret_cast<volatile char *>(t + 4096) = 0x77;
      g_race_wrote = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    g_race_wrote_before_answer = g_race_wrote.load();
  }
  return g_race_real->residency(addr, len, vec);
}
}  // namespace

TEST_CASE("emulated mover: a store racing the relocation of an untouched granule is kept") {
  Rt rt;
  const int dram = rt.node_of_kind(TIER_KIND_DRAM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  tier_policy pol = TIER_POLICY_INIT;
  pol.mode = TIER_MODE_BIND;
  pol.select = TIER_SELECT_NODES;
  pol.nnodes = 1;
  pol.nodes[0] = dram;
  // Never touched: no page is resident when the relocation starts.
  auto *p = static_cast<char *>(tier_malloc(rt.rt, kGranule, &pol));
  REQUIRE(p != nullptr);
  Result<Mover> m = Mover::emulated(rt.rt);
  REQUIRE(m.ok());

  static prim::Ops racing;
  racing = prim::linux_ops();
  racing.name = "racing-residency";
  racing.residency = racing_residency;
  g_race_real = &prim::linux_ops();
  g_race_target = p;
  Result<const prim::Ops *> prev = prim::set_ops(&racing);
  REQUIRE(prev.ok());
  std::vector<RangeOutcome> out;
  MoveStats st;
  Status s = m->move({{reinterpret_cast<uintptr_t>(p), kGranule, dram, cxl, 1}}, &out, &st);
  (void)prim::set_ops(*prev);
  g_race_target = nullptr;
  REQUIRE(g_race_writer.joinable());
  g_race_writer.join();
  REQUIRE(s.ok());
  CHECK(out[0].outcome == Outcome::kMoved);
  // Residency is asked only once the range is write-protected: the store waited for the
  // relocation, then landed in the new pages.
  CHECK_FALSE(g_race_wrote_before_answer);
  CHECK(p[4096] == 0x77);
  REQUIRE(tier_free(rt.rt, p) == TIER_OK);
}
