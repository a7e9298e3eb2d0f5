// Hand-built snapshots and workloads for the placement engine's tests.
#pragma once

#include <cstdint>
#include <vector>

#include "policy/move_cost.hpp"
#include "policy/policy.hpp"
#include "policy/simulator.hpp"
#include "policy/snapshot.hpp"

namespace policy_test {

using namespace tier::policy;

constexpr uint64_t kChunk = 2ull << 20;

struct TierSpec {
  uint64_t capacity_chunks;
  uint64_t wm_low_chunks = 0;
  uint64_t wm_high_chunks = 0;
};

// Nodes 0, 1, 2 ... one per tier (tier i = node i), and `n` chunks with ids 100, 101, ...
// all on `start_node`; `used` accounts for them.
inline Snapshot world(const std::vector<TierSpec> &tiers, size_t n, int start_node) {
  Snapshot s;
  s.epoch = 0;
  for (size_t i = 0; i < tiers.size(); ++i) {
    NodeState ns;
    ns.id = static_cast<int32_t>(i);
    ns.tier = static_cast<int32_t>(i);
    ns.capacity = tiers[i].capacity_chunks * kChunk;
    ns.wm_low = tiers[i].wm_low_chunks * kChunk;
    ns.wm_high = tiers[i].wm_high_chunks * kChunk;
    s.nodes.push_back(ns);
  }
  for (size_t i = 0; i < n; ++i) {
    ChunkInfo c;
    c.id = 100 + i;
    c.bytes = kChunk;
    c.node = start_node;
    s.chunks.push_back(c);
    s.nodes[start_node].used += kChunk;
  }
  return s;
}

// Puts chunks [first, first+count) in group g.
inline void group(Snapshot &s, size_t first, size_t count, uint32_t g) {
  for (size_t i = first; i < first + count; ++i) s.chunks[i].group = g;
}

// Moves chunk i to node `to`, keeping `used` right (for building start states).
inline void place(Snapshot &s, size_t i, int to) {
  for (NodeState &n : s.nodes) {
    if (n.id == s.chunks[i].node) n.used -= s.chunks[i].bytes;
    if (n.id == to) n.used += s.chunks[i].bytes;
  }
  s.chunks[i].node = to;
}

// Accesses per chunk: `rate` to the chunks listed, 0 elsewhere.
inline std::vector<uint32_t> accesses(size_t n, const std::vector<size_t> &hot, uint32_t rate) {
  std::vector<uint32_t> a(n, 0);
  for (size_t i : hot) a[i] = rate;
  return a;
}

inline std::vector<size_t> range(size_t first, size_t count) {
  std::vector<size_t> v;
  for (size_t i = first; i < first + count; ++i) v.push_back(i);
  return v;
}

// How many of the listed chunks are on node `node`.
inline size_t count_on(const Snapshot &s, const std::vector<size_t> &which, int node) {
  size_t k = 0;
  for (size_t i : which) k += s.chunks[i].node == node ? 1 : 0;
  return k;
}

// A small deterministic generator (tests must not depend on the platform's std:: engines).
struct Lcg {
  uint64_t x;
  explicit Lcg(uint64_t seed) : x(seed * 6364136223846793005ull + 1442695040888963407ull) {}
  uint32_t next() {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(x >> 33);
  }
  uint32_t below(uint32_t n) { return next() % n; }
};

// A random but valid snapshot: 2-4 tiers, some over capacity, random heat, pins, groups.
inline Snapshot random_snapshot(uint64_t seed) {
  Lcg r(seed);
  const size_t tiers = 2 + r.below(3);
  std::vector<TierSpec> spec;
  for (size_t t = 0; t < tiers; ++t) spec.push_back({4 + r.below(40), r.below(2), 1 + r.below(3)});
  spec.back().capacity_chunks = 400;
  const size_t n = 20 + r.below(150);
  Snapshot s = world(spec, n, static_cast<int>(tiers - 1));
  s.epoch = 50 + r.below(50);
  s.budget_bytes = (1 + r.below(30)) * kChunk + (r.below(2) ? kChunk / 2 : 0);
  // Fill faster tiers roughly, sometimes past capacity (as after a capacity cut).
  for (size_t i = 0; i < n; ++i) {
    const int to = static_cast<int>(r.below(static_cast<uint32_t>(tiers)));
    if (s.nodes[to].used + kChunk <= s.nodes[to].capacity + (r.below(8) == 0 ? 4 * kChunk : 0))
      place(s, i, to);
  }
  uint32_t g = 0;
  for (size_t i = 0; i < n;) {
    const size_t len = r.below(4) == 0 ? 1 + r.below(4) : 1;
    if (len > 1 && i + len <= n) {
      ++g;
      for (size_t k = i; k < i + len; ++k) {
        s.chunks[k].group = g;
        if (k > i) place(s, k, s.chunks[i].node);
      }
    }
    i += len;
  }
  for (ChunkInfo &c : s.chunks) {
    c.accesses = r.below(3) == 0 ? r.below(100) : 0;
    c.temperature = static_cast<float>(r.below(1000)) / 7.0f;
    c.total_accesses = r.below(10000);
    c.history = r.next();
    c.last_access_epoch = r.below(static_cast<uint32_t>(s.epoch) + 1);
    c.last_move_epoch = r.below(4) == 0 ? s.epoch - r.below(10) : 0;
    c.pinned = r.below(10) == 0;
    if (c.accesses) c.last_access_epoch = s.epoch, c.history |= 1;
  }
  return s;
}

}  // namespace policy_test
