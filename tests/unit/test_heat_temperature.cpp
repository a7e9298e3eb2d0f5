// Temperatures: the heat rule (deltas, decay by half-life, history), the chunk table as the
// epoch's source, and the log2 hot-set histogram.
#include <catch2/catch.hpp>

#include <cmath>

#include "heat/rule.hpp"
#include "epoch/table_source.hpp"
#include "heat/temperature.hpp"

using namespace tier::heat;

namespace {
constexpr uintptr_t kBase = uintptr_t{1} << 40;
constexpr size_t kMiB = 1 << 20;
const void *at(uintptr_t offset) {
  return reinterpret_cast<const void *>(kBase + offset);
}
}  // namespace

TEST_CASE("temperature decays by half every half-life") {
  TemperatureConfig cfg{3.0};
  REQUIRE(validate(cfg).ok());
  REQUIRE(validate(TemperatureConfig{0}).status() == TIER_ECONFIG);
  REQUIRE(validate(TemperatureConfig{NAN}).status() == TIER_ECONFIG);
  const double f = decay_factor(cfg);
  float t = next_temperature(0, 1000, f);
  REQUIRE(t == 1000.0f);
  for (int i = 0; i < 3; ++i) t = next_temperature(t, 0, f);
  REQUIRE(t == Approx(500.0).epsilon(1e-5));
  // A steady rate settles at rate / (1 - factor).
  float s = 0;
  for (int i = 0; i < 200; ++i) s = next_temperature(s, 10, f);
  REQUIRE(s == Approx(10.0 / (1.0 - f)).epsilon(1e-4));
  // An idle chunk reaches exactly zero eventually.
  for (int i = 0; i < 400; ++i) t = next_temperature(t, 0, f);
  REQUIRE(t == 0.0f);
}

// One epoch of the in-process chunk source: the heat rule over the table, rows for node 1.
struct Epoch {
  tier::policy::Snapshot snap;
  tier::epoch::Report report;
};
Epoch collect(tier::epoch::TableSource &source, tier::heat::HeatClock &clock, uint64_t epoch) {
  Epoch e;
  tier::policy::NodeState n;
  n.id = 1;
  n.capacity = 1ull << 40;
  e.snap.nodes.push_back(n);
  clock.begin(epoch);
  REQUIRE(source.collect(clock, &e.snap, &e.report).ok());
  clock.end();
  return e;
}

TEST_CASE("the heat rule turns counters into deltas, history and a snapshot") {
  ChunkTable table;
  auto r = table.register_region({at(0), 8 * kMiB, 5, 1});
  REQUIRE(r.ok());
  auto g = table.define_group(at(4 * kMiB), 4 * kMiB);
  REQUIRE(g.ok());
  table.pin(at(0), 1);
  tier::epoch::TableSource source(&table);
  tier::heat::HeatClock clock(TemperatureConfig{1.0});

  table.touch(at(0), 1, 3, 1);
  table.touch_group(*g, 10, 0);
  Epoch e1 = collect(source, clock, 1);
  REQUIRE(e1.report.chunks == 4);
  REQUIRE(e1.report.active_chunks == 2);
  REQUIRE(e1.report.accesses == 14);
  REQUIRE(e1.report.reads == 13);
  REQUIRE(e1.report.writes == 1);
  const std::vector<tier::policy::ChunkInfo> &snap = e1.snap.chunks;
  REQUIRE(snap.size() == 4);
  REQUIRE(snap[0].accesses == 4);
  REQUIRE(snap[0].pinned);
  REQUIRE(snap[0].owner == 5);
  REQUIRE(snap[0].node == 1);
  REQUIRE(snap[0].bytes == 2 * kMiB);
  REQUIRE(snap[0].last_access_epoch == 1);
  REQUIRE(snap[1].accesses == 0);
  REQUIRE(snap[1].last_access_epoch == 0);
  REQUIRE(snap[2].group == *g);
  REQUIRE(snap[3].group == *g);
  REQUIRE(snap[2].accesses == 10);
  REQUIRE(snap[2].temperature == 10.0f);

  Epoch e2 = collect(source, clock, 2);  // nothing new: deltas are zero, heat halves
  REQUIRE(e2.snap.chunks[0].accesses == 0);
  REQUIRE(e2.snap.chunks[0].total_accesses == 4);
  REQUIRE(e2.snap.chunks[2].temperature == Approx(5.0));
  REQUIRE(e2.snap.chunks[0].history == 0b10);
  REQUIRE(e2.snap.chunks[0].last_access_epoch == 1);
  table.touch(at(0), 1, 1, 0);
  Epoch e3 = collect(source, clock, 3);
  REQUIRE(e3.snap.chunks[0].history == 0b101);
  REQUIRE(e3.snap.chunks[0].last_access_epoch == 3);
}

TEST_CASE("chunks on nodes the snapshot does not know are read but not shown") {
  ChunkTable table;
  REQUIRE(table.register_region({at(0), 4 * kMiB, 5, 1}).ok());
  REQUIRE(table.register_region({at(64 * kMiB), 2 * kMiB, 5, -1}).ok());  // not faulted in
  tier::epoch::TableSource source(&table);
  tier::heat::HeatClock clock;
  table.touch(at(64 * kMiB), 1, 7, 0);
  Epoch e = collect(source, clock, 1);
  REQUIRE(e.report.chunks == 3);
  REQUIRE(e.report.accesses == 7);
  REQUIRE(e.snap.chunks.size() == 2);
  REQUIRE(e.snap.nodes[0].used == 4 * kMiB);  // at least the tracked chunks on it
}

TEST_CASE("a lazily folded unit has the heat of one folded every epoch") {
  struct Unit {
    float temperature = 0;
    uint64_t total = 0;
    uint32_t history = 0;
    uint64_t last_access_epoch = 0;
  };
  for (const bool adaptive : {false, true}) {
    tier::heat::HeatClock eager_clock(TemperatureConfig{3.0, adaptive});
    tier::heat::HeatClock lazy_clock(TemperatureConfig{3.0, adaptive});
    Unit eager, lazy;
    tier::heat::HeatClock::Mark mark;
    // Accessed on a sparse pattern: gaps of 1, 5, 40 and 200 epochs (past the exact catch-up).
    const std::vector<uint64_t> hits = {1, 2, 7, 47, 48, 248, 249};
    size_t next = 0;
    for (uint64_t e = 1; e <= 250; ++e) {
      const uint64_t delta = next < hits.size() && hits[next] == e ? 3 : 0;
      if (delta) ++next;
      eager_clock.begin(e);
      eager_clock.fold(eager, delta);
      eager_clock.end();
      lazy_clock.begin(e);
      if (delta) lazy_clock.fold_after(lazy, delta, &mark);
      lazy_clock.end();
      if (delta && e < 200) {  // within the exact catch-up: bit for bit
        REQUIRE(lazy.temperature == eager.temperature);
        REQUIRE(lazy.history == eager.history);
      }
      if (delta) {
        REQUIRE(lazy.temperature == Approx(eager.temperature).epsilon(1e-5));
        REQUIRE(lazy.total == eager.total);
        REQUIRE(lazy.last_access_epoch == eager.last_access_epoch);
      }
    }
    REQUIRE(lazy_clock.half_life() == eager_clock.half_life());
  }
}

TEST_CASE("counter deltas survive 32-bit wrap-around") {
  ChunkTable table;
  REQUIRE(table.register_region({at(0), 2 * kMiB, 0, 1}).ok());
  Chunk *c = table.find(at(0));
  c->counts.store((uint64_t{0xFFFFFFF0u} << 32) | 0xFFFFFFF0u);
  tier::epoch::TableSource source(&table);
  tier::heat::HeatClock clock;
  collect(source, clock, 1);          // takes the odd start as its base... plus its delta
  table.touch(at(0), 1, 0x20, 0x30);  // both halves wrap
  Epoch e = collect(source, clock, 2);
  REQUIRE(e.report.reads == 0x20);
  REQUIRE(e.report.writes == 0x30);
  REQUIRE(e.snap.chunks[0].accesses == 0x50);
  const tier::heat::CounterDelta d = tier::heat::counter_delta(0x1'0000'0005, 0xFFFF'FFFF);
  REQUIRE(d.reads == 6);
  REQUIRE(d.writes == 0);
}

TEST_CASE("log2 histogram buckets are ordered and their edges bound their values") {
  REQUIRE(LogHistogram::bucket(0) == -1);
  REQUIRE(LogHistogram::bucket(-3) == -1);
  REQUIRE(LogHistogram::bucket(1e-9) == -1);
  int prev = -1;
  for (double v = 1e-5; v < 1e12; v *= 1.07) {
    const int b = LogHistogram::bucket(v);
    REQUIRE(b >= prev);
    REQUIRE(LogHistogram::lower_edge(b) <= v * (1 + 1e-12));
    REQUIRE(v < LogHistogram::lower_edge(b + 1) * (1 + 1e-12));
    prev = b;
  }
  REQUIRE(LogHistogram::bucket(1e300) == LogHistogram::kBuckets - 1);
}

TEST_CASE("the hot threshold sizes the hot set to a capacity") {
  LogHistogram h;
  REQUIRE(std::isinf(h.hot_threshold(100)));
  // 10 units of 100 bytes at temperatures 1, 2, 4, ... 512.
  for (int i = 0; i < 10; ++i) h.add(std::ldexp(1.0, i), 100);
  h.add(0, 100);
  REQUIRE(h.total() == 1000);
  REQUIRE(h.zero_bytes() == 100);
  // Room for 300 bytes: 512, 256, 128 fit; 64 is the bucket that overflows and is included.
  REQUIRE(h.hot_threshold(300) == Approx(64));
  REQUIRE(h.hot_threshold(250) == Approx(128));
  // Everything fits: the threshold is the smallest positive temperature.
  REQUIRE(h.hot_threshold(5000) == Approx(1));
  // Equally hot bytes are not excluded as a block.
  LogHistogram flat;
  flat.add(7.0, 10000);
  REQUIRE(flat.hot_threshold(100) <= 7.0);
  // Within: the overflowing bucket is left out, so the hot bytes never exceed the capacity.
  REQUIRE(std::isinf(LogHistogram().hot_threshold_within(100)));
  REQUIRE(h.hot_threshold_within(300) == Approx(128));
  REQUIRE(h.hot_threshold_within(250) == Approx(256));
  REQUIRE(h.hot_threshold_within(5000) == Approx(1));
  REQUIRE(std::isinf(flat.hot_threshold_within(100)));
}
