// tier-replay's deterministic core: Belady's optimum on hand-made traces with a known optimum,
// and replays through the engine of LRU and ARC with hand-computed hit counts; the replay's
// snapshots and plans are checked against the engine's contract on every epoch (check = true).
#include <catch2/catch.hpp>

#include "belady.hpp"
#include "engine_replay.hpp"
#include "trace.hpp"
#include "workload.hpp"

using namespace tier::replay;

namespace {

// One single-block request per letter: one reference per epoch.
Workload letters(const std::string &seq) {
  Trace t;
  t.name = seq;
  for (char c : seq) t.requests.push_back({0, 512, 1, {static_cast<uint64_t>(c)}});
  return kv_workload(t);
}

ReplayResult run(const Workload &w, const std::string &policy, uint64_t capacity) {
  auto p = tier::policy::make_policy(policy);
  REQUIRE(p.ok());
  ReplayConfig c;
  c.capacity_objects = capacity;
  c.check = true;
  auto r = replay(w, *p, c);
  INFO((r ? "" : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("Belady keeps what is used soonest and bypasses what is never used again") {
  // Capacity 2: A and B are reused, C and D never; the optimum keeps A and B throughout.
  const Workload w = letters("ABCABDAB");
  const OptimumResult r = belady(w, 2);
  CHECK(r.refs == 8);
  CHECK(r.hits == 4);
  CHECK(r.insertions == 2);
  CHECK(r.created_fast == 2);  // both kept from their first reference: written, not moved
  CHECK(r.evictions == 0);
  // Unlimited capacity: every reuse hits.
  CHECK(belady(w, 100).hits == 8 - 4);
  CHECK(belady(w, 0).hits == 0);
  // Capacity 1 on ABAB...: only one of the two can stay; the optimum still hits every other.
  CHECK(belady(letters("ABABAB"), 1).hits == 2);
  // Furthest next use: at C (capacity 2, A and B resident) B is used later than A, so B goes.
  CHECK(belady(letters("ABCACB"), 2).hits == 2);  // A then C hit; B's reuse is a miss
}

TEST_CASE("lru through the engine matches a hand-run LRU cache") {
  // Capacity 3: A B C are created into the fast tier's free room; D misses and its plan evicts
  // C (least recently used); then A, D and B hit: 5 hits (A, B, A, D, B).
  ReplayResult r = run(letters("ABCABDADB"), "lru", 3);
  CHECK(r.refs == 9);
  CHECK(r.hits == 5);
  CHECK(r.moves == 2);  // C down, D up
  CHECK(r.bytes_migrated == 2 * (64ull << 20));
  // The scan A A B C A D A on 2 slots: LRU loses A to C, and again misses it: 2 hits.
  CHECK(run(letters("AABCADA"), "lru", 2).hits == 2);
  CHECK(belady(letters("AABCADA"), 2).hits == 3);
}

TEST_CASE("arc through the engine keeps the twice-seen block against a scan") {
  // A A B C A D A on 2 slots. A is seen twice (T2); C's miss evicts B from T1 (|T1| > p = 0)
  // into the ghost list B1; A hits; D's miss forgets B (|T1| + |B1| = c) and evicts C; A hits.
  // 3 hits, the optimum's, where LRU gets 2.
  ReplayResult r = run(letters("AABCADA"), "arc", 2);
  CHECK(r.hits == 3);
  // A ghost hit adapts (A A B C B): B returns from B1, so T1's target grows to one block and
  // ARC takes the room from T2 (A) instead of T1 (C); B's return itself is a miss.
  CHECK(run(letters("AABCB"), "arc", 2).hits == 1);
}

TEST_CASE("first-touch never moves; every policy passes the contract on a small trace") {
  const Workload w = letters("ABCDABCEABCFAGAB");
  CHECK(run(w, "first-touch", 2).moves == 0);
  for (const std::string &name : tier::policy::policy_names()) {
    INFO(name);
    const ReplayResult r = run(w, name, 3);
    CHECK(r.refs == w.refs.size());
    CHECK(r.hits <= belady(w, 3).hits);  // nothing beats the optimum
  }
}
