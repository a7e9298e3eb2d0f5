// Policy-specific rules: the heat policy's cascade, headroom, hysteresis and ordering, and
// the defining behaviour of each baseline.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>

#include "test_policy_fixtures.hpp"

using namespace policy_test;

namespace {
Policy named(const std::string &name, const PolicyParams &params = {}) {
  auto p = make_policy(name, params);
  REQUIRE(p.ok());
  return *p;
}
void run(Simulator &sim, const Policy &p, const std::vector<uint32_t> &a, int epochs) {
  for (int e = 0; e < epochs; ++e) {
    REQUIRE(sim.observe(a).ok());
    auto plan = sim.step(p);
    INFO((plan.ok() ? "" : plan.error().message));
    REQUIRE(plan.ok());
  }
}
}  // namespace

TEST_CASE("heat: the hottest fill the fastest tier, the next hottest the next tier") {
  Snapshot s = world({{4, 0, 1}, {6, 0, 1}, {100}}, 30, 2);
  Simulator sim(s);
  std::vector<uint32_t> rates(30, 0);
  for (size_t i = 0; i < 12; ++i) rates[i] = static_cast<uint32_t>(1000 >> i);  // 1000 .. 0
  run(sim, named("heat"), rates, 40);
  const Snapshot &now = sim.snapshot();
  // Room: 3 chunks on tier 0 and 5 on tier 1 (capacity minus one chunk of headroom).
  REQUIRE(count_on(now, range(0, 3), 0) == 3);
  REQUIRE(count_on(now, range(3, 5), 1) == 5);
  REQUIRE(count_on(now, range(8, 22), 2) == 22);
}

TEST_CASE("heat: promotions keep the headroom free; watermark pressure restores it") {
  Snapshot s = world({{10, 1, 3}, {100}}, 40, 1);
  Simulator sim(s);
  const Policy heat = named("heat");
  run(sim, heat, accesses(40, range(0, 20), 50), 30);
  REQUIRE(sim.snapshot().nodes[0].used == 7 * kChunk);  // 10 minus 3 of headroom
  // Someone else allocates 3 chunks on the fast node: free drops to 0 < wm_low.
  sim.mutable_snapshot().nodes[0].used += 3 * kChunk;
  REQUIRE(sim.observe(accesses(40, range(0, 20), 50)).ok());
  auto plan = sim.step(heat);
  REQUIRE(plan.ok());
  REQUIRE(plan->demoted == 3 * kChunk);
  for (const Move &m : plan->moves) REQUIRE(m.reason == Reason::kPressure);
  REQUIRE(sim.snapshot().nodes[0].free_bytes() == 3 * kChunk);
}

TEST_CASE("heat: demotions that make room come before the promotion they serve") {
  // The fast node is full of lukewarm chunks; a much hotter object arrives below.
  Snapshot s = world({{4}, {100}}, 12, 1);
  s.epoch = 40;
  for (size_t i = 0; i < 4; ++i) {
    place(s, i, 0);
    s.chunks[i].temperature = 5;
  }
  group(s, 8, 2, 7);
  s.chunks[8].temperature = 500;
  s.chunks[9].temperature = 500;
  auto plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  REQUIRE(check_plan(s, *plan).ok());
  REQUIRE(plan->moves.size() == 4);
  REQUIRE(plan->moves[0].reason == Reason::kDemote);
  REQUIRE(plan->moves[1].reason == Reason::kDemote);
  REQUIRE(plan->moves[2].reason == Reason::kPromote);
  REQUIRE(plan->moves[3].reason == Reason::kPromote);
  REQUIRE(plan->moves[2].group == 7);
}

TEST_CASE("heat: a candidate must beat the coldest resident by the margin") {
  Snapshot s = world({{2}, {100}}, 4, 1);
  s.epoch = 40;
  place(s, 0, 0);
  place(s, 1, 0);
  s.chunks[0].temperature = 100;
  s.chunks[1].temperature = 100;
  s.chunks[2].temperature = 120;  // 20% hotter: inside the default 25% margin
  auto plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  REQUIRE(plan->moves.empty());
  s.chunks[2].temperature = 130;  // 30% hotter
  plan = named("heat").plan(s);
  REQUIRE(plan->moves.size() == 2);
  PolicyParams eager;
  eager.promote_margin = 0.1;
  s.chunks[2].temperature = 115;
  REQUIRE(named("heat", eager).plan(s)->moves.size() == 2);
}

TEST_CASE("heat: a recently moved chunk is not moved again within the cooldown") {
  Snapshot s = world({{2}, {100}}, 4, 1);
  s.epoch = 40;
  place(s, 0, 0);
  place(s, 1, 0);
  s.chunks[0].temperature = s.chunks[1].temperature = 1;
  s.chunks[0].last_move_epoch = s.chunks[1].last_move_epoch = 35;  // promoted 5 epochs ago
  s.chunks[2].temperature = 1000;
  REQUIRE(named("heat").plan(s)->moves.empty());
  PolicyParams shorter;
  shorter.cooldown_epochs = 4;
  REQUIRE(named("heat", shorter).plan(s)->moves.size() == 2);
}

TEST_CASE("heat: an oversubscribed, noisy but stable workload settles without ping-pong") {
  // 60 chunks with Zipf-like rates; chunk i is seen in an epoch with probability
  // min(1, 4/(i+1)) and then with +-20% noise. The fast tier holds 10 of them.
  Snapshot s = world({{12, 1, 2}, {200}}, 60, 1);
  auto noisy = [](Lcg &r) {
    std::vector<uint32_t> a(60);
    for (size_t i = 0; i < 60; ++i) {
      const double base = 2000.0 / static_cast<double>(i + 1);
      const bool seen = r.below(1000) * (i + 1) < 4000;
      a[i] = seen ? static_cast<uint32_t>(base * (0.8 + 0.4 * r.below(1000) / 1000.0)) : 0;
    }
    return a;
  };
  std::map<std::string, uint64_t> moves;
  for (const char *name : {"heat", "lru"}) {
    Simulator sim(s);
    Lcg r(7);
    const Policy p = named(name);
    for (int e = 0; e < 30; ++e) {
      REQUIRE(sim.observe(noisy(r)).ok());
      REQUIRE(sim.step(p).ok());
    }
    std::map<uint64_t, uint64_t> last_move;  // chunk -> epoch
    uint64_t quick_returns = 0;
    const uint64_t before = sim.stats().moves;
    for (int e = 0; e < 100; ++e) {
      REQUIRE(sim.observe(noisy(r)).ok());
      auto plan = sim.step(p);
      REQUIRE(plan.ok());
      for (const Move &m : plan->moves) {
        auto it = last_move.find(m.chunk);
        if (it != last_move.end() && sim.snapshot().epoch - it->second < 8) ++quick_returns;
        last_move[m.chunk] = sim.snapshot().epoch;
      }
    }
    moves[name] = sim.stats().moves - before;
    if (std::string(name) == "heat") {
      REQUIRE(quick_returns == 0);  // nothing comes back within the cooldown
      REQUIRE(count_on(sim.snapshot(), range(0, 6), 0) == 6);
    }
  }
  INFO("moves over 100 epochs: heat " << moves["heat"] << ", lru " << moves["lru"]);
  // LRU promotes whatever was touched last, so it churns; heat moves a small fraction.
  REQUIRE(moves["lru"] > 100);
  REQUIRE(moves["heat"] * 10 < moves["lru"]);
}

TEST_CASE("heat: a small budget spreads a promotion wave over epochs, hottest first") {
  Snapshot s = world({{20, 0, 1}, {100}}, 30, 1);
  s.budget_bytes = 2 * kChunk;
  Simulator sim(s);
  const Policy heat = named("heat");
  std::vector<uint32_t> rates(30, 0);
  for (size_t i = 0; i < 8; ++i) rates[i] = static_cast<uint32_t>(100 * (8 - i));
  REQUIRE(sim.observe(rates).ok());
  auto first = sim.step(heat);
  REQUIRE(first->moves.size() == 2);
  REQUIRE(first->moves[0].chunk == 100);  // the hottest first
  REQUIRE(first->moves[1].chunk == 101);
  run(sim, heat, rates, 3);
  REQUIRE(count_on(sim.snapshot(), range(0, 8), 0) == 8);
}

TEST_CASE("heat: objects are ranked by heat per byte") {
  // A 4-chunk object with 200 accesses against a 1-chunk object with 100: the small one is
  // denser (100/chunk vs 50/chunk) and wins the one free slot.
  Snapshot s = world({{5, 0, 0}, {100}}, 5, 1);
  s.epoch = 10;
  group(s, 0, 4, 3);
  s.chunks[0].temperature = 200;
  s.chunks[4].temperature = 100;
  s.nodes[0].used = 4 * kChunk;  // room for one chunk only (untracked data)
  auto plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  REQUIRE(plan->moves.size() == 1);
  REQUIRE(plan->moves[0].chunk == 104);
}

TEST_CASE("lru: promotes on the first access, evicting the least recently used") {
  Snapshot s = world({{2}, {100}}, 4, 1);
  s.epoch = 10;
  place(s, 0, 0);
  place(s, 1, 0);
  s.chunks[0].last_access_epoch = 8;
  s.chunks[1].last_access_epoch = 3;
  s.chunks[2].accesses = 1;
  s.chunks[2].last_access_epoch = 10;
  auto plan = named("lru").plan(s);
  REQUIRE(plan->moves.size() == 2);
  REQUIRE(plan->moves[0].chunk == 101);
  REQUIRE(plan->moves[0].reason == Reason::kDemote);
  REQUIRE(plan->moves[1].chunk == 102);
}

TEST_CASE("lfu: evicts the least frequently used, not the least recent") {
  Snapshot s = world({{2}, {100}}, 4, 1);
  s.epoch = 10;
  place(s, 0, 0);
  place(s, 1, 0);
  s.chunks[0].total_accesses = 5;  // recent but rare
  s.chunks[0].last_access_epoch = 9;
  s.chunks[1].total_accesses = 500;
  s.chunks[1].last_access_epoch = 2;
  s.chunks[2].accesses = 10;
  s.chunks[2].total_accesses = 50;
  s.chunks[2].last_access_epoch = 10;
  auto plan = named("lfu").plan(s);
  REQUIRE(plan->moves.size() == 2);
  REQUIRE(plan->moves[0].chunk == 100);
  // Fewer accesses than every resident: not admitted.
  s.chunks[2].total_accesses = 3;
  REQUIRE(named("lfu").plan(s)->moves.empty());
}

TEST_CASE("tpp: promotes only after repeated access, into free room, never by eviction") {
  Snapshot s = world({{4, 1, 2}, {100}}, 8, 1);
  s.epoch = 10;
  s.chunks[0].history = 0b1;  // accessed this epoch only
  s.chunks[0].accesses = 5;
  s.chunks[1].history = 0b11;
  s.chunks[1].accesses = 5;
  auto plan = named("tpp").plan(s);
  REQUIRE(plan->moves.size() == 1);
  REQUIRE(plan->moves[0].chunk == 101);
  // The fast node at its low watermark: no promotion, and no eviction to make one.
  Snapshot full = s;
  full.nodes[0].used = 3 * kChunk;  // free 1 chunk == wm_low, below wm_high
  plan = named("tpp").plan(full);
  for (const Move &m : plan->moves) REQUIRE(m.reason != Reason::kPromote);
  PolicyParams three;
  three.tpp_hot_epochs = 3;
  REQUIRE(named("tpp", three).plan(s)->moves.empty());
}

TEST_CASE("tpp: demotes the least recently used below the high watermark") {
  Snapshot s = world({{6, 1, 3}, {100}}, 6, 0);  // full: 0 free < wm_high (3)
  s.epoch = 20;
  for (size_t i = 0; i < 6; ++i) s.chunks[i].last_access_epoch = 10 + (5 - i);
  auto plan = named("tpp").plan(s);
  REQUIRE(plan->moves.size() == 3);
  for (const Move &m : plan->moves) REQUIRE(m.chunk >= 103);  // the three least recent
}

TEST_CASE("first-touch never moves anything") {
  Snapshot s = random_snapshot(3);
  REQUIRE(named("first-touch").plan(s)->moves.empty());
}

namespace {
// Two priced nodes: HBM (1000 GB/s) over a CXL pool (32 GB/s), the `default` preset's ends.
Snapshot priced_world(size_t fast_chunks, size_t n) {
  Snapshot s = world({{fast_chunks}, {1000}}, n, 1);
  s.nodes[0].bandwidth_mbps = 1000000;
  s.nodes[1].bandwidth_mbps = 32000;
  s.epoch = 40;
  return s;
}
}  // namespace

TEST_CASE("move cost: the break-even is the round trip over the saving per access") {
  Snapshot s = priced_world(4, 1);
  const double k = break_even_accesses(s.nodes[1], s.nodes[0], s.move);
  // Saving 1/32 - 1/1000 ns per byte; round trip 2 x (1/11.05 ns + 800 ns / 2 MiB) per byte.
  const double saving = 1 / 32e9 - 1 / 1e12;
  const double trip = 2 * (1 / 11.05e9 + 800e-9 / double(kChunk));
  CHECK(k == Approx(trip / saving).epsilon(1e-9));
  CHECK(k > 5.9);
  CHECK(k < 6.1);
  CHECK(std::isinf(break_even_accesses(s.nodes[0], s.nodes[1], s.move)));  // never pays down
  s.nodes[0].bandwidth_mbps = 0;                                           // unknown: no price
  CHECK(std::isinf(break_even_accesses(s.nodes[1], s.nodes[0], s.move)));
}

TEST_CASE("heat: a promotion that cannot repay its round trip is not made") {
  Snapshot s = priced_world(4, 2);
  s.chunks[0].temperature = 4;   // below the ~6 accesses a pool -> HBM round trip costs
  s.chunks[1].temperature = 12;  // above it
  auto plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  REQUIRE(check_plan(s, *plan).ok());
  REQUIRE(plan->moves.size() == 1);
  CHECK(plan->moves[0].chunk == 101);
  CHECK(plan->moves[0].to == 0);
  // Unpriced nodes (no bandwidth figures): the hot threshold alone, so both move.
  s.nodes[0].bandwidth_mbps = 0;
  plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  CHECK(plan->moves.size() == 2);
}

TEST_CASE("heat: an exchange must repay the promotion and the demotion it forces") {
  Snapshot s = priced_world(1, 2);
  place(s, 0, 0);
  s.chunks[0].temperature = 10;
  s.chunks[1].temperature = 15;  // 50% hotter (past the margin), but only 5 accesses more
  auto plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  CHECK(plan->moves.empty());
  s.chunks[1].temperature = 20;  // 10 accesses more: repays both moves
  plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  REQUIRE(check_plan(s, *plan).ok());
  REQUIRE(plan->moves.size() == 2);
  CHECK(plan->moves[0].reason == Reason::kDemote);
  CHECK(plan->moves[1].chunk == 101);
}

TEST_CASE("heat: headroom is kept only while new data is read again enough to repay it") {
  // HBM of 10 chunks with wm_low 2 / wm_high 3, full of never-moved chunks written there.
  Snapshot s = world({{10, 2, 3}, {1000}}, 10, 0);
  s.nodes[0].bandwidth_mbps = 1000000;
  s.nodes[1].bandwidth_mbps = 32000;
  s.epoch = 40;
  for (auto &c : s.chunks) {
    c.temperature = 1;
    c.total_accesses = 1;  // read once, never again: room for more such data does not pay
  }
  auto plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  CHECK(plan->moves.empty());
  for (auto &c : s.chunks) c.total_accesses = 10;  // new data is read 9 more times: it pays
  plan = named("heat").plan(s);
  REQUIRE(plan.ok());
  REQUIRE(check_plan(s, *plan).ok());
  CHECK(plan->moves.size() == 3);  // demoted down to wm_high free
  for (const Move &m : plan->moves) CHECK(m.reason == Reason::kPressure);
}
