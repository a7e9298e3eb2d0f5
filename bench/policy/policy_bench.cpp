// policy_bench.cpp - how long the placement engine takes to decide one epoch, and what a
// touch costs.
//
// The engine runs on a snapshot of 1M chunks of 2 MiB (2 TiB) over three tiers (HBM 64 GiB,
// DRAM 512 GiB, CXL the rest) with Zipf-like heat, placed as a previous epoch left them, after
// which a tenth of the hot set has shifted: so every policy has real promotions and demotions
// to find, under a 1 GiB budget (the "typical epoch") and without a budget (the worst case).
// Touch is measured on one chunk (L1-resident), over 4096 chunks, and from two threads on
// distinct chunks (uncontended) and on one chunk (contended), next to its parts alone. Each
// thread adds to its own counter stripe (heat/touch_stripes.hpp), so "contended" contends
// only for the read-shared lookup lines.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <vector>

#include "heat/chunk_table.hpp"
#include "epoch/table_source.hpp"
#include "heat/rule.hpp"
#include "heat/temperature.hpp"
#include "policy/policy.hpp"

using namespace tier;

namespace {

constexpr uint64_t kChunk = 2ull << 20;
constexpr size_t kChunks = 1u << 20;

uint64_t lcg(uint64_t &x) {
  x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x >> 33;
}

// Built once: 1M chunks, 1 in 16 in a 4-chunk group, 1 in 200 pinned.
const policy::Snapshot &big_snapshot() {
  static const policy::Snapshot s = [] {
    policy::Snapshot snap;
    snap.epoch = 1000;
    const uint64_t caps[3] = {64ull << 30, 512ull << 30, 4ull << 40};
    // The `default` preset's read bandwidths (MB/s), so `heat` prices its moves as it does in
    // tierd and the agent.
    const double read_mbps[3] = {1000000, 300000, 64000};
    for (int t = 0; t < 3; ++t) {
      policy::NodeState n;
      n.id = t;
      n.tier = t;
      n.capacity = caps[t];
      n.wm_low = caps[t] / 100;
      n.wm_high = caps[t] / 50;
      n.bandwidth_mbps = read_mbps[t];
      snap.nodes.push_back(n);
    }
    uint64_t x = 42;
    snap.chunks.resize(kChunks);
    // Zipf-like rank permutation, so heat is not in address order.
    std::vector<uint32_t> rank(kChunks);
    for (uint32_t i = 0; i < kChunks; ++i) rank[i] = i;
    for (uint32_t i = kChunks - 1; i > 0; --i) std::swap(rank[i], rank[lcg(x) % (i + 1)]);
    const uint64_t fast_chunks = caps[0] * 95 / 100 / kChunk;
    const uint64_t mid_chunks = caps[1] * 95 / 100 / kChunk;
    for (uint32_t i = 0; i < kChunks; ++i) {
      policy::ChunkInfo &c = snap.chunks[i];
      c.id = i;
      c.bytes = kChunk;
      const uint32_t r = rank[i];
      c.temperature = static_cast<float>(1e6 / std::pow(r + 1.0, 0.9));
      c.accesses = r < 200000 ? static_cast<uint32_t>(c.temperature / 8) + 1 : 0;
      c.total_accesses = static_cast<uint64_t>(c.temperature) * 20;
      c.history = c.accesses ? 0b1011 : 0b1000;
      c.last_access_epoch = c.accesses ? snap.epoch : snap.epoch - 3;
      c.last_move_epoch = lcg(x) % 4 == 0 ? snap.epoch - lcg(x) % 50 : 0;
      c.pinned = lcg(x) % 200 == 0;
      // Placed by the heat of ten epochs ago: a tenth of the ranks have since shifted.
      const uint32_t old_rank = lcg(x) % 10 == 0 ? static_cast<uint32_t>(lcg(x) % kChunks) : r;
      c.node = old_rank < fast_chunks ? 0 : old_rank < fast_chunks + mid_chunks ? 1 : 2;
      snap.nodes[c.node].used += kChunk;
    }
    // Groups of 4 chunks: make them whole (same node) by following the first chunk.
    uint32_t g = 0;
    for (uint32_t i = 0; i + 4 <= kChunks; i += 64) {
      ++g;
      for (uint32_t k = i; k < i + 4; ++k) {
        snap.nodes[snap.chunks[k].node].used -= kChunk;
        snap.chunks[k].node = snap.chunks[i].node;
        snap.nodes[snap.chunks[k].node].used += kChunk;
        snap.chunks[k].group = g;
      }
    }
    return snap;
  }();
  return s;
}

void BM_plan(benchmark::State &state, const char *name) {
  policy::Snapshot s = big_snapshot();
  s.budget_bytes = state.range(0) ? static_cast<uint64_t>(state.range(0)) << 30 : UINT64_MAX;
  auto p = policy::make_policy(name);
  if (!p) {
    state.SkipWithError(p.error().message.c_str());
    return;
  }
  size_t moves = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    policy::Plan plan = p->plan_unchecked(s);
    moves = plan.moves.size();
    bytes = plan.bytes;
    benchmark::DoNotOptimize(plan);
  }
  state.counters["moves"] = static_cast<double>(moves);
  state.counters["GiB_moved"] = static_cast<double>(bytes) / (1ull << 30);
}

// Budget argument in GiB; 0 = unlimited.
BENCHMARK_CAPTURE(BM_plan, heat, "heat")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_plan, tpp, "tpp")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_plan, lru, "lru")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_plan, lfu, "lfu")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_plan, first_touch, "first-touch")->Arg(1)->Unit(benchmark::kMillisecond);

void BM_validate_snapshot(benchmark::State &state) {
  const policy::Snapshot &s = big_snapshot();
  for (auto _ : state) benchmark::DoNotOptimize(policy::validate_snapshot(s).ok());
}
BENCHMARK(BM_validate_snapshot)->Unit(benchmark::kMillisecond);

constexpr uintptr_t kBase = uintptr_t{1} << 40;

// The temperature pass over 1M registered chunks, emitting the snapshot (the in-process
// chunk source of the epoch; named for the tracker it replaced, so figures stay comparable).
void BM_tracker_advance(benchmark::State &state) {
  heat::ChunkTable table;
  for (int r = 0; r < 16; ++r)  // 16 regions of 128 GiB
    (void)table.register_region(
        {reinterpret_cast<void *>(kBase + (uintptr_t(r) << 37)), size_t{1} << 37, 0, 0});
  epoch::TableSource source(&table);
  heat::HeatClock clock;
  policy::Snapshot snap;
  policy::NodeState node;  // the node the regions were placed on
  node.id = 0;
  node.capacity = UINT64_MAX;
  snap.nodes.push_back(node);
  snap.chunks.reserve(kChunks);
  uint64_t epoch = 0;
  for (auto _ : state) {
    snap.chunks.clear();
    epoch::Report report;
    clock.begin(++epoch);
    (void)source.collect(clock, &snap, &report);
    clock.end();
    benchmark::DoNotOptimize(snap.chunks.data());
  }
  state.counters["chunks"] = static_cast<double>(snap.chunks.size());
}
BENCHMARK(BM_tracker_advance)->Unit(benchmark::kMillisecond);

heat::ChunkTable &touch_table() {
  static heat::ChunkTable *t = [] {
    auto *table = new heat::ChunkTable();
    (void)table->register_region({reinterpret_cast<void *>(kBase), size_t{1} << 34});  // 16 GiB
    return table;
  }();
  return *t;
}

// One thread, one chunk: the counter line stays in L1.
void BM_touch_one_chunk(benchmark::State &state) {
  heat::ChunkTable &t = touch_table();
  const void *p = reinterpret_cast<const void *>(kBase + 4096);
  for (auto _ : state) t.touch(p, 64, 1, 0);
}
BENCHMARK(BM_touch_one_chunk);

// One thread over 4096 chunks (256 KiB of chunk lines: L2-resident).
void BM_touch_4096_chunks(benchmark::State &state) {
  heat::ChunkTable &t = touch_table();
  uintptr_t i = 0;
  for (auto _ : state) {
    t.touch(reinterpret_cast<const void *>(kBase + ((i & 4095) << 21)), 64, 0, 1);
    ++i;
  }
}
BENCHMARK(BM_touch_4096_chunks);

// Two threads on distinct chunks: uncontended.
void BM_touch_two_threads_distinct(benchmark::State &state) {
  heat::ChunkTable &t = touch_table();
  const void *p =
      reinterpret_cast<const void *>(kBase + (uintptr_t(100 + state.thread_index()) << 21));
  for (auto _ : state) t.touch(p, 64, 1, 0);
}
BENCHMARK(BM_touch_two_threads_distinct)->Threads(2)->UseRealTime();

// Two threads on the same chunk: the counter line bounces between cores.
void BM_touch_two_threads_same(benchmark::State &state) {
  heat::ChunkTable &t = touch_table();
  const void *p = reinterpret_cast<const void *>(kBase + (uintptr_t(7) << 21));
  for (auto _ : state) t.touch(p, 64, 1, 0);
}
BENCHMARK(BM_touch_two_threads_same)->Threads(2)->UseRealTime();

// Where a touch's time goes: the address lookup alone (bounds check, two dependent loads) ...
void BM_touch_lookup_only(benchmark::State &state) {
  heat::ChunkTable &t = touch_table();
  const void *p = reinterpret_cast<const void *>(kBase + 4096);
  for (auto _ : state) benchmark::DoNotOptimize(t.find(p));
}
BENCHMARK(BM_touch_lookup_only);

// ... and a shared counter update alone: one relaxed fetch_add on an L1-resident line, which
// x86 can only do as a locked instruction. A touch no longer does this while its thread has a
// stripe; it is what the 8th and later concurrently touching threads pay.
void BM_touch_locked_add_only(benchmark::State &state) {
  alignas(64) static std::atomic<uint64_t> counter{0};
  for (auto _ : state) counter.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_touch_locked_add_only);

// Object-level touch (a KV block or an expert): group id -> first chunk.
void BM_touch_group(benchmark::State &state) {
  heat::ChunkTable &t = touch_table();
  static const heat::GroupId g = [&] {
    auto r =
        t.define_group(reinterpret_cast<const void *>(kBase + (uintptr_t(300) << 21)), 8u << 21);
    return r.ok() ? *r : heat::GroupId{0};
  }();
  for (auto _ : state) t.touch_group(g, 1, 0);
}
BENCHMARK(BM_touch_group);

}  // namespace

BENCHMARK_MAIN();
