// Temperatures: deltas, decay by half-life, history, and the log2 hot-set histogram.
#include <catch2/catch.hpp>

#include <cmath>

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

TEST_CASE("the tracker turns counters into deltas, history and a snapshot") {
  ChunkTable table;
  auto r = table.register_region({at(0), 8 * kMiB, 5, 1});
  REQUIRE(r.ok());
  auto g = table.define_group(at(4 * kMiB), 4 * kMiB);
  REQUIRE(g.ok());
  table.pin(at(0), 1);
  TemperatureTracker tracker(TemperatureConfig{1.0});

  table.touch(at(0), 1, 3, 1);
  table.touch_group(*g, 10, 0);
  std::vector<tier::policy::ChunkInfo> snap;
  EpochHeat e1 = tracker.advance(table, 1, &snap);
  REQUIRE(e1.chunks == 4);
  REQUIRE(e1.active_chunks == 2);
  REQUIRE(e1.accesses == 14);
  REQUIRE(e1.reads == 13);
  REQUIRE(e1.writes == 1);
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

  snap.clear();
  tracker.advance(table, 2, &snap);  // nothing new: deltas are zero, heat halves
  REQUIRE(snap[0].accesses == 0);
  REQUIRE(snap[0].total_accesses == 4);
  REQUIRE(snap[2].temperature == Approx(5.0));
  REQUIRE(snap[0].history == 0b10);
  REQUIRE(snap[0].last_access_epoch == 1);
  table.touch(at(0), 1, 1, 0);
  snap.clear();
  tracker.advance(table, 3, &snap);
  REQUIRE(snap[0].history == 0b101);
  REQUIRE(snap[0].last_access_epoch == 3);
}

TEST_CASE("counter deltas survive 32-bit wrap-around") {
  ChunkTable table;
  REQUIRE(table.register_region({at(0), 2 * kMiB}).ok());
  Chunk *c = table.find(at(0));
  c->counts.store((uint64_t{0xFFFFFFF0u} << 32) | 0xFFFFFFF0u);
  TemperatureTracker tracker;
  tracker.advance(table, 1, nullptr);  // takes the odd start as its base... plus its delta
  table.touch(at(0), 1, 0x20, 0x30);   // both halves wrap
  std::vector<tier::policy::ChunkInfo> snap;
  EpochHeat e = tracker.advance(table, 2, &snap);
  REQUIRE(e.reads == 0x20);
  REQUIRE(e.writes == 0x30);
  REQUIRE(snap[0].accesses == 0x50);
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
