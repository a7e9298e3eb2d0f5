// migrate_bench.cpp - mover throughput against memcpy of the same bytes.
//
//   BM_Memcpy/<MiB>            the baseline: memcpy between two resident buffers
//   BM_EmulatedMover/<MiB>     relocating a buffer between two virtual nodes of the `default`
//                              preset (protect, copy, mremap, page map and accounting), one
//                              direction per iteration
//   BM_NumaMoverInPlace/<MiB>  move_pages(2) towards the node the pages are already on: the
//                              query-and-skip cost every epoch pays for chunks in place
// Each mover benchmark reports `vs_memcpy`: its bytes per second divided by memcpy's on the
// same size, measured in the same process just before. Figures in docs/migration.md.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "heat/chunk_table.hpp"
#include "migrate/mover.hpp"
#include "prim/os.hpp"
#include "tier/heat.h"
#include "tier/tier.h"

using namespace tier;
using namespace tier::migrate;

namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kGranule = 2 * kMiB;

// memcpy bytes per second for `len`: the mean over 8 copies between resident buffers after a
// warm-up copy, measured the way BM_Memcpy measures it, so the ratio compares like with like.
double memcpy_rate(size_t len) {
  std::vector<char> a(len, 1), b(len, 2);
  std::memcpy(b.data(), a.data(), len);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) {
    std::memcpy(b.data(), a.data(), len);
    benchmark::ClobberMemory();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 8.0 * static_cast<double>(len) / s;
}

void BM_Memcpy(benchmark::State &state) {
  const size_t len = static_cast<size_t>(state.range(0)) * kMiB;
  std::vector<char> a(len, 1), b(len, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), len);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_Memcpy)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

int node_of_kind(tier_runtime *rt, tier_node_kind kind) {
  for (int i = 0; i < tier_node_count(rt); ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    if (tier_node_at(rt, i, &info) == TIER_OK && info.kind == kind) return info.id;
  }
  return -1;
}

void BM_EmulatedMover(benchmark::State &state) {
  const size_t len = static_cast<size_t>(state.range(0)) * kMiB;
  const double base = memcpy_rate(len);
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  tier_runtime *rt = nullptr;
  if (tier_runtime_create(&o, &rt) != TIER_OK) return state.SkipWithError(tier_last_error());
  const int a = node_of_kind(rt, TIER_KIND_DRAM), b = node_of_kind(rt, TIER_KIND_CXL);
  tier_policy pol = TIER_POLICY_INIT;
  pol.mode = TIER_MODE_BIND;
  pol.select = TIER_SELECT_NODES;
  pol.nnodes = 1;
  pol.nodes[0] = a;
  char *buf = static_cast<char *>(tier_malloc(rt, len, &pol));
  if (!buf) return state.SkipWithError(tier_last_error());
  std::memset(buf, 7, len);
  std::vector<MoveRange> there, back;
  for (size_t off = 0; off < len; off += kGranule) {
    there.push_back({reinterpret_cast<uintptr_t>(buf) + off, kGranule, a, b, off});
    back.push_back({reinterpret_cast<uintptr_t>(buf) + off, kGranule, b, a, off});
  }
  Result<Mover> m = Mover::emulated(rt);
  if (!m) return state.SkipWithError(m.error().message.c_str());
  std::vector<RangeOutcome> out;
  MoveStats st;
  bool flip = false;
  for (auto _ : state) {
    if (!m->move(flip ? back : there, &out, &st)) return state.SkipWithError("move failed");
    flip = !flip;
  }
  state.SetBytesProcessed(static_cast<int64_t>(st.bytes_moved));
  const double rate = static_cast<double>(st.bytes_moved) / (st.elapsed_ns * 1e-9);
  state.counters["vs_memcpy"] = rate / base;
  state.counters["memcpy_GBps"] = base / 1e9;
  state.counters["modelled_GBps"] = static_cast<double>(st.bytes_moved) / st.modelled_s / 1e9;
  tier_free(rt, buf);
  tier_runtime_destroy(rt);
}
BENCHMARK(BM_EmulatedMover)
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_NumaMoverInPlace(benchmark::State &state) {
  const size_t len = static_cast<size_t>(state.range(0)) * kMiB;
  const double base = memcpy_rate(len);
  void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return state.SkipWithError("mmap");
  std::memset(p, 7, len);
  void *first = p;
  int node = -1;
  if (!prim::query_nodes(&first, 1, &node) || node < 0) return state.SkipWithError("query");
  Result<Mover> m = Mover::numa();
  if (!m) return state.SkipWithError(m.error().message.c_str());
  std::vector<MoveRange> ranges;
  for (size_t off = 0; off < len; off += kGranule)
    ranges.push_back({reinterpret_cast<uintptr_t>(p) + off, kGranule, node, node, off});
  std::vector<RangeOutcome> out;
  MoveStats st;
  for (auto _ : state) {
    if (!m->move(ranges, &out, &st)) return state.SkipWithError("move failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
  const double rate = static_cast<double>(state.iterations() * len) / (st.elapsed_ns * 1e-9);
  state.counters["vs_memcpy"] = rate / base;
  state.counters["pages_skipped"] = static_cast<double>(st.pages_skipped);
  munmap(p, len);
}
BENCHMARK(BM_NumaMoverInPlace)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

// tier_touch through the C ABI: the side-table lookup of the runtime's agent plus the chunk
// table's relaxed add. Each thread touches its own chunk (uncontended) or all threads the same
// one (contended: one cache line bouncing between cores).
tier_runtime *g_touch_rt = nullptr;
char *g_touch_buf = nullptr;
constexpr size_t kTouchLen = 64 * kMiB;

void touch_setup(const benchmark::State &) {
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  if (tier_runtime_create(&o, &g_touch_rt) != TIER_OK) return;
  g_touch_buf = static_cast<char *>(tier_malloc(g_touch_rt, kTouchLen, nullptr));
  uint32_t id;
  if (g_touch_buf) tier_region_register(g_touch_rt, g_touch_buf, kTouchLen, 0, 0, &id);
}
void touch_teardown(const benchmark::State &) {
  tier_free(g_touch_rt, g_touch_buf);
  tier_runtime_destroy(g_touch_rt);
  g_touch_rt = nullptr, g_touch_buf = nullptr;
}

void BM_TierTouch(benchmark::State &state) {
  if (!g_touch_buf) return state.SkipWithError("setup failed");
  const bool shared = state.range(0) != 0;
  char *p = g_touch_buf + (shared ? 0 : (state.thread_index() % 16) * kGranule);
  for (auto _ : state) tier_touch(g_touch_rt, p, 64, 1, 0);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TierTouch)
    ->ArgName("shared")
    ->Arg(0)
    ->Arg(1)
    ->Threads(1)
    ->Threads(2)
    ->Setup(touch_setup)
    ->Teardown(touch_teardown)
    ->UseRealTime();

// The same add straight on a ChunkTable: the floor tier_touch's ABI lookup adds to.
void BM_ChunkTableTouch(benchmark::State &state) {
  static heat::ChunkTable table;
  static std::vector<char> mem(16 * kGranule);
  static const bool registered = [] {
    heat::RegionSpec spec;
    spec.base = mem.data();
    spec.length = mem.size();
    return table.register_region(spec).ok();
  }();
  if (!registered) return state.SkipWithError("register failed");
  const char *p = mem.data() + (state.thread_index() % 8) * kGranule;
  for (auto _ : state) table.touch(p, 64, 1, 0);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChunkTableTouch)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
