// The conformance suite: every registered policy, on the same hand-built snapshots, must keep
// the plan contract (budget, capacity, pinned, whole groups, ordering), be deterministic,
// relieve nodes over capacity coldest-first, promote a shifted hot set within its bound, and
// leave a stable workload alone.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "test_policy_fixtures.hpp"

using namespace policy_test;

namespace {

// Epochs each policy may take to bring a shifted hot set to the fastest tier in
// "shifting hot set" below (-1: the policy never moves). LFU must first out-count the old
// set's 30 epochs at the same rate, so it needs exactly 31; TPP waits for two accessed epochs and
// for kswapd-style demotion to free room.
int shift_bound(const std::string &name) {
  static const std::map<std::string, int> bounds = {{"first-touch", -1}, {"lru", 1},   {"lfu", 31},
                                                    {"tpp", 12},         {"heat", 10}, {"arc", 1}};
  auto it = bounds.find(name);
  return it == bounds.end() ? 30 : it->second;  // policies registered later: a loose bound
}

Policy policy_named(const std::string &name) {
  auto p = make_policy(name);
  REQUIRE(p.ok());
  return *p;
}

}  // namespace

TEST_CASE("registry: built-ins by name, heat is the default, unknown names are errors") {
  auto names = policy_names();
  for (const char *n : {"first-touch", "lru", "lfu", "tpp", "heat"})
    REQUIRE(std::find(names.begin(), names.end(), n) != names.end());
  REQUIRE(std::string(kDefaultPolicy) == "heat");
  auto bad = make_policy("belady-online");
  REQUIRE(bad.status() == TIER_EINVAL);
  REQUIRE(bad.error().message.find("known: heat") != std::string::npos);
  PolicyParams p;
  p.tpp_hot_epochs = 0;
  REQUIRE(make_policy("tpp", p).status() == TIER_ECONFIG);
  PolicyOps old{0, "old", "", nullptr};
  REQUIRE(register_policy(&old).status() == TIER_EINVAL);
  REQUIRE(register_policy(find_policy("lru")).status() == TIER_EBUSY);
}

TEST_CASE("snapshot validation names what is wrong") {
  Snapshot s = world({{4}, {40}}, 4, 1);
  auto lru = policy_named("lru");
  REQUIRE(lru.plan(s).status() == TIER_EINVAL);  // epoch 0
  s.epoch = 1;
  REQUIRE(lru.plan(s).ok());
  Snapshot unknown = s;
  unknown.chunks[2].node = 9;
  REQUIRE(lru.plan(unknown).error().message.find("unknown node 9") != std::string::npos);
  Snapshot dup = s;
  dup.chunks[3].id = dup.chunks[0].id;
  REQUIRE(lru.plan(dup).error().message.find("listed twice") != std::string::npos);
  Snapshot apart = s;
  apart.chunks[0].group = apart.chunks[2].group = 5;
  REQUIRE(lru.plan(apart).error().message.find("not adjacent") != std::string::npos);
  Snapshot empty = s;
  empty.chunks[1].bytes = 0;
  REQUIRE(lru.plan(empty).status() == TIER_EINVAL);
}

TEST_CASE("conformance: every policy keeps the plan contract on random snapshots") {
  for (const std::string &name : policy_names()) {
    DYNAMIC_SECTION(name) {
      const Policy p = policy_named(name);
      for (uint64_t seed = 1; seed <= 200; ++seed) {
        Snapshot s = random_snapshot(seed);
        auto plan = p.plan(s);
        REQUIRE(plan.ok());
        INFO("seed " << seed << ": " << describe(*plan));
        auto st = check_plan(s, *plan);
        INFO((st.ok() ? "" : st.error().message));
        REQUIRE(st.ok());
        REQUIRE(plan->bytes <= s.budget_bytes);
        REQUIRE(plan->bytes == plan->promoted + plan->demoted);
        // Deterministic: the same input gives the same plan.
        REQUIRE(p.plan(s).value() == *plan);
      }
    }
  }
}

TEST_CASE("conformance: pinned chunks never move, even when hot and room is free") {
  for (const std::string &name : policy_names()) {
    DYNAMIC_SECTION(name) {
      Snapshot s = world({{8}, {64}}, 16, 1);
      for (size_t i = 0; i < 16; i += 2) s.chunks[i].pinned = true;
      Simulator sim(s);
      const Policy p = policy_named(name);
      for (int e = 0; e < 30; ++e) {
        REQUIRE(sim.observe(accesses(16, range(0, 16), 50)).ok());
        REQUIRE(sim.step(p).ok());
      }
      for (size_t i = 0; i < 16; i += 2) REQUIRE(sim.snapshot().chunks[i].node == 1);
    }
  }
}

TEST_CASE("conformance: the byte budget holds every epoch") {
  for (const std::string &name : policy_names()) {
    DYNAMIC_SECTION(name) {
      Snapshot s = world({{32, 1, 2}, {256}}, 64, 1);
      s.budget_bytes = 3 * kChunk;
      Simulator sim(s);
      const Policy p = policy_named(name);
      uint64_t moved = 0;
      for (int e = 0; e < 20; ++e) {
        REQUIRE(sim.observe(accesses(64, range((e / 5) % 2 ? 0 : 32, 24), 40)).ok());
        auto plan = sim.step(p);
        REQUIRE(plan.ok());
        REQUIRE(plan->bytes <= 3 * kChunk);
        moved += plan->bytes;
      }
      if (shift_bound(name) >= 0) REQUIRE(moved > 0);  // a moving policy does use it
    }
  }
}

TEST_CASE("conformance: whole objects move together") {
  for (const std::string &name : policy_names()) {
    DYNAMIC_SECTION(name) {
      // Four 4-chunk objects; only one chunk of each is ever touched.
      Snapshot s = world({{10, 0, 1}, {100}}, 16, 1);
      for (uint32_t g = 0; g < 4; ++g) group(s, g * 4, 4, g + 1);
      Simulator sim(s);
      const Policy p = policy_named(name);
      for (int e = 0; e < 10; ++e) {
        REQUIRE(sim.observe(accesses(16, {1, 5}, 30)).ok());
        REQUIRE(sim.step(p).ok());  // step() checks every plan, groups included
      }
      for (uint32_t g = 0; g < 4; ++g) {
        const auto members = range(g * 4, 4);
        const size_t fast = count_on(sim.snapshot(), members, 0);
        REQUIRE((fast == 0 || fast == 4));
      }
      if (shift_bound(name) >= 0) {
        REQUIRE(count_on(sim.snapshot(), range(0, 4), 0) == 4);
        REQUIRE(count_on(sim.snapshot(), range(4, 4), 0) == 4);
      }
    }
  }
}

TEST_CASE("conformance: a node over capacity is relieved coldest first") {
  for (const std::string &name : policy_names()) {
    if (shift_bound(name) < 0) continue;  // first-touch never moves, by definition
    DYNAMIC_SECTION(name) {
      // 8 chunks on the fast node; chunk i is colder than chunk i+1 by every measure.
      Snapshot s = world({{8}, {64}}, 8, 0);
      s.epoch = 100;
      for (size_t i = 0; i < 8; ++i) {
        ChunkInfo &c = s.chunks[i];
        c.temperature = 10.0f * static_cast<float>(i + 1);
        c.total_accesses = 100 * (i + 1);
        c.last_access_epoch = 50 + i;
        c.history = 1u << (18 - i);  // accessed long ago, not in the last epochs
      }
      s.nodes[0].capacity = 5 * kChunk;  // the capacity was cut
      auto plan = policy_named(name).plan(s);
      REQUIRE(plan.ok());
      REQUIRE(check_plan(s, *plan).ok());
      std::set<uint64_t> demoted;
      for (const Move &m : plan->moves) {
        REQUIRE(m.from == 0);
        REQUIRE(m.reason == Reason::kPressure);
        demoted.insert(m.chunk);
      }
      REQUIRE(demoted.size() >= 3);
      for (size_t i = 0; i < demoted.size(); ++i) REQUIRE(demoted.count(100 + i) == 1);
    }
  }
}

TEST_CASE("conformance: a shifting hot set is promoted within a bounded number of epochs") {
  for (const std::string &name : policy_names()) {
    DYNAMIC_SECTION(name) {
      // Fast tier of 12 chunks (headroom 2), a middle tier, and a large slow tier. Hot set A
      // (8 chunks) for 30 epochs, then hot set B (8 other chunks): both do not fit at once.
      Snapshot s = world({{12, 1, 2}, {16, 1, 2}, {200}}, 64, 2);
      Simulator sim(s);
      const Policy p = policy_named(name);
      const auto a = range(0, 8), b = range(32, 8);
      for (int e = 0; e < 30; ++e) {
        REQUIRE(sim.observe(accesses(64, a, 100)).ok());
        REQUIRE(sim.step(p).ok());
      }
      const int bound = shift_bound(name);
      if (bound >= 0) REQUIRE(count_on(sim.snapshot(), a, 0) >= 7);
      int took = -1;
      for (int e = 1; e <= 40; ++e) {
        REQUIRE(sim.observe(accesses(64, b, 100)).ok());
        REQUIRE(sim.step(p).ok());
        if (took < 0 && count_on(sim.snapshot(), b, 0) >= 7) took = e;
      }
      INFO(name << " took " << took << " epochs");
      if (bound < 0) {
        REQUIRE(took < 0);
        REQUIRE(sim.stats().moves == 0);
      } else {
        REQUIRE(took > 0);
        REQUIRE(took <= bound);
      }
    }
  }
}

TEST_CASE("conformance: a stable workload that fits causes no moves over 100 epochs") {
  for (const std::string &name : policy_names()) {
    DYNAMIC_SECTION(name) {
      Snapshot s = world({{12, 1, 2}, {200}}, 40, 1);
      Simulator sim(s);
      const Policy p = policy_named(name);
      const std::vector<size_t> hot = {3, 7, 11, 19, 23, 31};
      auto rates = accesses(40, hot, 0);
      for (size_t k = 0; k < hot.size(); ++k) rates[hot[k]] = static_cast<uint32_t>(10 + 15 * k);
      for (int e = 0; e < 20; ++e) {
        REQUIRE(sim.observe(rates).ok());
        REQUIRE(sim.step(p).ok());
      }
      const uint64_t moves_after_warmup = sim.stats().moves;
      for (int e = 0; e < 100; ++e) {
        REQUIRE(sim.observe(rates).ok());
        REQUIRE(sim.step(p).ok());
      }
      REQUIRE(sim.stats().moves == moves_after_warmup);
      if (shift_bound(name) >= 0) REQUIRE(count_on(sim.snapshot(), hot, 0) == hot.size());
    }
  }
}
