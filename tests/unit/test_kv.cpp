// The KV-cache block pool (include/tier/kv.h) on the `default` emulated preset: allocation and
// release, whole-chunk blocks, prefix sharing by hash with reference counts and the cached-block
// LRU, pins that keep a block where it is while the agent moves its neighbours, a full pool
// that refuses with nothing changed, per-sequence tables, bad arguments, and threads sharing a
// pool while the agent thread moves blocks under them (their bytes checked).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tier/heat.h"
#include "tier/kv.h"
#include "tier/tier.h"
#include "test_runtime_fixture.hpp"

using tier::test::Rt;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// A pool of `max_blocks` blocks of `block_mib` MiB, slabs of `per_slab`, on `policy`.
tier_kv_pool *make_pool(tier_runtime *rt, uint32_t max_blocks, uint64_t block_mib = 2,
                        uint32_t per_slab = 4, const tier_policy *policy = nullptr) {
  tier_kv_pool_options o = TIER_KV_POOL_OPTIONS_INIT;
  o.block_bytes = block_mib * kMiB;
  o.max_blocks = max_blocks;
  o.blocks_per_slab = per_slab;
  o.policy = policy;
  tier_kv_pool *pool = nullptr;
  REQUIRE(tier_kv_pool_create(rt, &o, &pool) == TIER_OK);
  REQUIRE(pool != nullptr);
  return pool;
}

tier_policy bind_to(int node) {
  return tier::test::on_node(TIER_MODE_BIND, node);
}

tier_kv_pool_stats stats_of(tier_kv_pool *pool) {
  tier_kv_pool_stats s{};
  s.size = sizeof s;
  REQUIRE(tier_kv_pool_stats_get(pool, &s) == TIER_OK);
  return s;
}

tier_kv_block_info info_of(tier_kv_pool *pool, tier_kv_block id) {
  tier_kv_block_info i{};
  i.size = sizeof i;
  REQUIRE(tier_kv_block_info_get(pool, id, &i) == TIER_OK);
  return i;
}

}  // namespace

TEST_CASE("kv: bad options are refused, naming the field") {
  Rt rt;
  tier_kv_pool *pool = reinterpret_cast<tier_kv_pool *>(0x1);
  tier_kv_pool_options o = TIER_KV_POOL_OPTIONS_INIT;
  o.max_blocks = 4;
  CHECK(tier_kv_pool_create(rt.rt, &o, &pool) == TIER_EINVAL);  // no block size
  CHECK(std::string(tier_last_error()).find("block size is 0") != std::string::npos);
  CHECK(pool == nullptr);
  o.block_bytes = 2 * kMiB;
  o.max_blocks = 0;
  CHECK(tier_kv_pool_create(rt.rt, &o, &pool) == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("max_blocks") != std::string::npos);
  o.max_blocks = 4;
  o.block_bytes = 2048 * kMiB;
  CHECK(tier_kv_pool_create(rt.rt, &o, &pool) == TIER_EINVAL);
  o.block_bytes = 0;
  o.block_tokens = 1u << 20;
  o.bytes_per_token = 1u << 20;  // 1 TiB a block
  CHECK(tier_kv_pool_create(rt.rt, &o, &pool) == TIER_EINVAL);
  o = TIER_KV_POOL_OPTIONS_INIT;
  o.block_bytes = 2 * kMiB;
  o.max_blocks = 4;
  o.flags = 1;
  CHECK(tier_kv_pool_create(rt.rt, &o, &pool) == TIER_EINVAL);
  o.flags = 0;
  o.size = sizeof o - 1;
  CHECK(tier_kv_pool_create(rt.rt, &o, &pool) == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("options->size") != std::string::npos);
  o.size = sizeof o;
  CHECK(tier_kv_pool_create(nullptr, &o, &pool) == TIER_EINVAL);
  CHECK(tier_kv_pool_create(rt.rt, nullptr, &pool) == TIER_EINVAL);
  CHECK(tier_kv_pool_create(rt.rt, &o, nullptr) == TIER_EINVAL);
  tier_policy bad = TIER_POLICY_INIT;
  bad.select = TIER_SELECT_NODES;
  bad.nnodes = 1;
  bad.nodes[0] = 42;
  o.policy = &bad;
  CHECK(tier_kv_pool_create(rt.rt, &o, &pool) != TIER_OK);

  // Calls on a NULL pool are errors, never crashes.
  tier_kv_block id = 0;
  size_t found = 0;
  uint64_t h = 1;
  CHECK(tier_kv_alloc(nullptr, 1, &id, nullptr) == TIER_EINVAL);
  CHECK(tier_kv_lookup(nullptr, &h, 1, &id, nullptr, &found) == TIER_EINVAL);
  CHECK(tier_kv_release(nullptr, &id, 1) == TIER_EINVAL);
  CHECK(tier_kv_seq_free(nullptr, 1) == TIER_EINVAL);
  CHECK(tier_kv_block_addr(nullptr, 0) == nullptr);
  tier_kv_touch(nullptr, &id, 1, 1, 0);
  tier_kv_pool_destroy(nullptr);
}

TEST_CASE("kv: blocks are whole chunks with stable, distinct addresses") {
  Rt rt;
  tier_kv_pool_options o = TIER_KV_POOL_OPTIONS_INIT;
  o.block_tokens = 16;
  o.bytes_per_token = 160 * 1024;  // 2.5 MiB: a block takes two chunks
  o.max_blocks = 8;
  tier_kv_pool *pool = nullptr;
  REQUIRE(tier_kv_pool_create(rt.rt, &o, &pool) == TIER_OK);
  tier_kv_pool_stats s = stats_of(pool);
  CHECK(s.block_bytes == 16 * 160 * 1024);
  CHECK(s.block_stride == 4 * kMiB);
  CHECK(s.max_blocks == 8);

  tier_kv_block ids[8];
  void *addrs[8];
  REQUIRE(tier_kv_alloc(pool, 8, ids, addrs) == TIER_OK);
  for (int i = 0; i < 8; ++i) {
    CHECK(reinterpret_cast<uintptr_t>(addrs[i]) % (2 * kMiB) == 0);
    CHECK(tier_kv_block_addr(pool, ids[i]) == addrs[i]);
    std::memset(addrs[i], i + 1, s.block_bytes);
    for (int j = 0; j < i; ++j) CHECK(ids[i] != ids[j]);
  }
  for (int i = 0; i < 8; ++i) {
    const auto *b = static_cast<const unsigned char *>(addrs[i]);
    CHECK(b[0] == i + 1);
    CHECK(b[s.block_bytes - 1] == i + 1);
    CHECK(info_of(pool, ids[i]).state == TIER_KV_IN_USE);
  }
  s = stats_of(pool);
  CHECK(s.in_use == 8);
  CHECK(s.blocks == 8);
  CHECK(s.allocs == 8);

  REQUIRE(tier_kv_release(pool, ids, 8) == TIER_OK);
  s = stats_of(pool);
  CHECK(s.in_use == 0);
  CHECK(s.free == 8);
  CHECK(info_of(pool, ids[0]).state == TIER_KV_FREE);
  // A released block's address stays the same when it is handed out again.
  tier_kv_block again = 0;
  void *again_addr = nullptr;
  REQUIRE(tier_kv_alloc(pool, 1, &again, &again_addr) == TIER_OK);
  CHECK(again_addr == tier_kv_block_addr(pool, again));
  CHECK(tier_kv_release(pool, &again, 1) == TIER_OK);
  // Releasing a free block is an error that changes nothing.
  CHECK(tier_kv_release(pool, &again, 1) == TIER_EINVAL);
  CHECK(stats_of(pool).free == 8);
  tier_kv_pool_destroy(pool);
}

TEST_CASE("kv: prefix sharing by hash, reference counts and the cached-block LRU") {
  Rt rt;
  tier_kv_pool *pool = make_pool(rt.rt, 4);
  tier_kv_block a[3];
  REQUIRE(tier_kv_alloc(pool, 3, a, nullptr) == TIER_OK);
  tier_kv_block holder = TIER_KV_NO_BLOCK;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(tier_kv_publish(pool, a[i], 100 + i, &holder) == TIER_OK);
    CHECK(holder == a[i]);
  }
  CHECK(tier_kv_publish(pool, a[0], 100, &holder) == TIER_OK);  // same hash: no-op
  CHECK(tier_kv_publish(pool, a[0], 999, &holder) == TIER_EINVAL);

  // The longest published prefix is found, and each found block gains a reference.
  const uint64_t want[4] = {100, 101, 555, 102};
  tier_kv_block got[4] = {};
  size_t found = 9;
  REQUIRE(tier_kv_lookup(pool, want, 4, got, nullptr, &found) == TIER_OK);
  CHECK(found == 2);
  CHECK(got[0] == a[0]);
  CHECK(got[1] == a[1]);
  CHECK(info_of(pool, a[0]).refs == 2);
  CHECK(info_of(pool, a[2]).refs == 1);

  // A duplicate computation of a published block stays private and names the holder.
  tier_kv_block dup = 0;
  REQUIRE(tier_kv_alloc(pool, 1, &dup, nullptr) == TIER_OK);
  REQUIRE(tier_kv_publish(pool, dup, 101, &holder) == TIER_OK);
  CHECK(holder == a[1]);
  CHECK(info_of(pool, dup).published == 0);

  // Last references go: published blocks become cached (findable), the private one free.
  const tier_kv_block all[6] = {a[0], a[0], a[1], a[1], a[2], dup};
  REQUIRE(tier_kv_release(pool, all, 6) == TIER_OK);
  CHECK(info_of(pool, a[0]).state == TIER_KV_CACHED);
  CHECK(info_of(pool, dup).state == TIER_KV_FREE);
  tier_kv_pool_stats s = stats_of(pool);
  CHECK(s.cached == 3);
  CHECK(s.free == 1);
  CHECK(s.in_use == 0);

  // Lookup brings a cached block back in use.
  REQUIRE(tier_kv_lookup(pool, want, 1, got, nullptr, &found) == TIER_OK);
  CHECK(found == 1);
  CHECK(info_of(pool, a[0]).state == TIER_KV_IN_USE);
  REQUIRE(tier_kv_release(pool, got, 1) == TIER_OK);

  // With no free block and no room to grow, new blocks reuse cached ones, least recently
  // released first (a[1], a[2], then a[0], released again just now); their hashes are gone.
  tier_kv_block fresh[3];
  REQUIRE(tier_kv_alloc(pool, 3, fresh, nullptr) == TIER_OK);  // the free one + 2 cached
  s = stats_of(pool);
  CHECK(s.evictions == 2);
  CHECK(s.cached == 1);
  REQUIRE(tier_kv_lookup(pool, want, 2, got, nullptr, &found) == TIER_OK);
  CHECK(found == 1);  // 100 survived (released last), 101 was evicted
  CHECK(s.lookups >= 3);
  REQUIRE(tier_kv_release(pool, got, 1) == TIER_OK);

  // retain: a forked sequence shares a block; a free block cannot be retained.
  REQUIRE(tier_kv_retain(pool, fresh, 1) == TIER_OK);
  CHECK(info_of(pool, fresh[0]).refs == 2);
  REQUIRE(tier_kv_release(pool, fresh, 3) == TIER_OK);
  REQUIRE(tier_kv_release(pool, fresh, 1) == TIER_OK);
  CHECK(tier_kv_retain(pool, fresh, 1) == TIER_EINVAL);
  tier_kv_block bad = 1000;
  CHECK(tier_kv_retain(pool, &bad, 1) == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("block 1000 does not exist") != std::string::npos);
  tier_kv_pool_destroy(pool);
}

TEST_CASE("kv: a full pool refuses with TIER_ENOMEM and changes nothing") {
  Rt rt;
  SECTION("max_blocks reached") {
    tier_kv_pool *pool = make_pool(rt.rt, 4, 2, 2);
    tier_kv_block ids[5];
    REQUIRE(tier_kv_alloc(pool, 3, ids, nullptr) == TIER_OK);
    const tier_kv_pool_stats before = stats_of(pool);
    tier_kv_block more[2] = {TIER_KV_NO_BLOCK, TIER_KV_NO_BLOCK};
    CHECK(tier_kv_alloc(pool, 2, more, nullptr) == TIER_ENOMEM);
    CHECK(tier_last_status() == TIER_ENOMEM);
    CHECK(std::string(tier_last_error()).find("pool full: 2 blocks asked, 1 free") !=
          std::string::npos);
    CHECK(more[0] == TIER_KV_NO_BLOCK);
    const tier_kv_pool_stats after = stats_of(pool);
    CHECK(after.in_use == before.in_use);
    CHECK(after.free == 1);
    CHECK(after.full == 1);
    // A sequence's refused extend leaves no sequence behind.
    CHECK(tier_kv_seq_extend(pool, 7, 2, nullptr, nullptr) == TIER_ENOMEM);
    size_t n = 0;
    CHECK(tier_kv_seq_blocks(pool, 7, nullptr, 0, &n) == TIER_EINVAL);
    // The last block is still there to take.
    REQUIRE(tier_kv_alloc(pool, 1, &ids[3], nullptr) == TIER_OK);
    REQUIRE(tier_kv_release(pool, ids, 4) == TIER_OK);
    tier_kv_pool_destroy(pool);
  }
  SECTION("the runtime has no room for another slab") {
    const int hbm = rt.node_of_kind(TIER_KIND_HBM);
    REQUIRE(tier_node_set_capacity(rt.rt, hbm, 8 * kMiB) == TIER_OK);
    const tier_policy only_hbm = bind_to(hbm);
    tier_kv_pool *pool = make_pool(rt.rt, 100, 2, 2, &only_hbm);
    tier_kv_block ids[4];
    REQUIRE(tier_kv_alloc(pool, 4, ids, nullptr) == TIER_OK);  // 2 slabs = 8 MiB
    tier_kv_block more = 0;
    CHECK(tier_kv_alloc(pool, 1, &more, nullptr) == TIER_ENOMEM);
    CHECK(std::string(tier_last_error()).find("cannot grow") != std::string::npos);
    CHECK(stats_of(pool).in_use == 4);
    REQUIRE(tier_kv_release(pool, ids, 4) == TIER_OK);
    REQUIRE(tier_kv_alloc(pool, 1, &more, nullptr) == TIER_OK);
    tier_kv_pool_destroy(pool);
  }
}

TEST_CASE("kv: pinned blocks stay put while the agent promotes hot ones") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  const tier_policy on_cxl = bind_to(cxl);
  tier_kv_pool *pool = make_pool(rt.rt, 4, 2, 4, &on_cxl);
  tier_kv_block ids[4];
  void *addrs[4];
  REQUIRE(tier_kv_alloc(pool, 4, ids, addrs) == TIER_OK);
  for (int i = 0; i < 4; ++i) std::memset(addrs[i], 0x40 + i, 2 * kMiB);
  int tiers[4];
  REQUIRE(tier_kv_where(pool, ids, 4, tiers) == TIER_OK);
  tier_node_info cxl_info{};
  cxl_info.size = sizeof cxl_info;
  REQUIRE(tier_node_get(rt.rt, cxl, &cxl_info) == TIER_OK);
  for (int t : tiers) CHECK(t == cxl_info.tier);

  // Pin block 0 and heat blocks 0 and 1: only block 1 may go to HBM.
  REQUIRE(tier_kv_pin(pool, ids, 1) == TIER_OK);
  CHECK(info_of(pool, ids[0]).pins == 1);
  CHECK(tier_kv_release(pool, ids, 1) == TIER_EBUSY);  // the last reference of a pinned block
  for (int e = 0; e < 6 && info_of(pool, ids[1]).node != hbm; ++e) {
    tier_kv_touch(pool, ids, 2, 1000, 10);
    REQUIRE(tier_epoch(rt.rt, nullptr) == TIER_OK);
  }
  CHECK(info_of(pool, ids[1]).node == hbm);
  CHECK(info_of(pool, ids[1]).tier == 0);
  CHECK(info_of(pool, ids[0]).node == cxl);
  REQUIRE(tier_kv_where(pool, ids, 2, tiers) == TIER_OK);
  CHECK(tiers[0] == cxl_info.tier);
  CHECK(tiers[1] == 0);
  // The moved block kept its address and bytes.
  CHECK(tier_kv_block_addr(pool, ids[1]) == addrs[1]);
  CHECK(static_cast<unsigned char *>(addrs[1])[12345] == 0x41);

  // Unpinned, it moves too.
  REQUIRE(tier_kv_unpin(pool, ids, 1) == TIER_OK);
  CHECK(tier_kv_unpin(pool, ids, 1) == TIER_EINVAL);  // no pin left
  for (int e = 0; e < 6 && info_of(pool, ids[0]).node != hbm; ++e) {
    tier_kv_touch(pool, ids, 1, 1000, 10);
    REQUIRE(tier_epoch(rt.rt, nullptr) == TIER_OK);
  }
  CHECK(info_of(pool, ids[0]).node == hbm);
  CHECK(static_cast<unsigned char *>(addrs[0])[2 * kMiB - 1] == 0x40);
  tier_kv_block free_id = ids[3];
  REQUIRE(tier_kv_release(pool, &free_id, 1) == TIER_OK);
  CHECK(tier_kv_pin(pool, &free_id, 1) == TIER_EINVAL);  // not in use
  tier_kv_pool_destroy(pool);
}

TEST_CASE("kv: per-sequence block tables") {
  Rt rt;
  tier_kv_pool *pool = make_pool(rt.rt, 16);
  // Sequence 1: 3 prompt blocks, published as it fills them.
  tier_kv_block s1[3];
  REQUIRE(tier_kv_seq_extend(pool, 1, 3, s1, nullptr) == TIER_OK);
  const uint64_t prompt[4] = {7, 8, 9, 10};
  for (int i = 0; i < 3; ++i) REQUIRE(tier_kv_publish(pool, s1[i], prompt[i], nullptr) == TIER_OK);

  // Sequence 2 shares the first three, then extends by one.
  size_t found = 0;
  tier_kv_block shared[4];
  REQUIRE(tier_kv_seq_share(pool, 2, prompt, 4, shared, nullptr, &found) == TIER_OK);
  CHECK(found == 3);
  REQUIRE(tier_kv_seq_extend(pool, 2, 1, nullptr, nullptr) == TIER_OK);
  tier_kv_block table[8];
  size_t n = 0;
  REQUIRE(tier_kv_seq_blocks(pool, 2, table, 8, &n) == TIER_OK);
  REQUIRE(n == 4);
  for (int i = 0; i < 3; ++i) CHECK(table[i] == s1[i]);
  CHECK(info_of(pool, s1[0]).refs == 2);

  REQUIRE(tier_kv_seq_pin(pool, 2) == TIER_OK);
  CHECK(info_of(pool, table[3]).pins == 1);
  REQUIRE(tier_kv_seq_touch(pool, 2, 1, 0) == TIER_OK);
  CHECK(tier_kv_seq_free(pool, 2) == TIER_EBUSY);  // its own block is pinned
  REQUIRE(tier_kv_seq_unpin(pool, 2) == TIER_OK);
  REQUIRE(tier_kv_seq_free(pool, 2) == TIER_OK);
  CHECK(info_of(pool, s1[0]).refs == 1);
  CHECK(info_of(pool, table[3]).state == TIER_KV_FREE);
  CHECK(tier_kv_seq_free(pool, 2) == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("no sequence 2") != std::string::npos);
  CHECK(tier_kv_seq_pin(pool, 99) == TIER_EINVAL);
  CHECK(tier_kv_seq_touch(pool, 99, 1, 0) == TIER_EINVAL);

  REQUIRE(tier_kv_seq_free(pool, 1) == TIER_OK);
  const tier_kv_pool_stats s = stats_of(pool);
  CHECK(s.in_use == 0);
  CHECK(s.cached == 3);
  CHECK(s.sequences == 0);
  tier_kv_pool_destroy(pool);
}

TEST_CASE("kv: threads share a pool while the agent moves blocks under them") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM);
  // A small HBM so that the agent has to exchange blocks between tiers.
  REQUIRE(tier_node_set_capacity(rt.rt, hbm, 16 * kMiB) == TIER_OK);
  tier_kv_pool *pool = make_pool(rt.rt, 48, 2, 4);
  tier_agent_options ao = TIER_AGENT_OPTIONS_INIT;
  ao.period_ms = 5;
  REQUIRE(tier_agent_start(rt.rt, &ao) == TIER_OK);

  constexpr int kThreads = 4, kRounds = 60;
  std::atomic<int> errors{0}, full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const uint64_t seq = uint64_t(t) * 1000 + r;
        // Prompts share their first two blocks across threads (hashes 1, 2), then are private.
        const uint64_t prompt[4] = {1, 2, uint64_t(t) * 1000000 + r * 10 + 3,
                                    uint64_t(t) * 1000000 + r * 10 + 4};
        size_t found = 0;
        tier_kv_block ids[4];
        void *addrs[4];
        if (tier_kv_seq_share(pool, seq, prompt, 4, ids, addrs, &found) != TIER_OK) ++errors;
        const size_t fresh = 4 - found;
        tier_status st = tier_kv_seq_extend(pool, seq, fresh, ids + found, addrs + found);
        if (st == TIER_ENOMEM) {
          ++full;
          if (tier_kv_seq_free(pool, seq) != TIER_OK) ++errors;
          continue;
        }
        if (st != TIER_OK) ++errors;
        // Write the new blocks, publish them, then read every block back under a pin.
        for (size_t i = found; i < 4; ++i) {
          auto *w = static_cast<uint64_t *>(addrs[i]);
          for (size_t k = 0; k < 2 * kMiB / 8; k += 512) w[k] = prompt[i];
          tier_kv_block holder = 0;
          if (tier_kv_publish(pool, ids[i], prompt[i], &holder) != TIER_OK) ++errors;
        }
        tier_kv_touch(pool, ids + found, fresh, 0, 1);
        if (tier_kv_seq_pin(pool, seq) != TIER_OK) ++errors;
        for (size_t i = 0; i < 4; ++i) {
          const auto *w = static_cast<const uint64_t *>(tier_kv_block_addr(pool, ids[i]));
          // A shared block another thread published under the same hash may still be being
          // written by that thread only if it was found before being written: blocks are
          // published after writing, so a found block's words are final.
          for (size_t k = 0; k < 2 * kMiB / 8; k += 512)
            if (w[k] != prompt[i]) {
              ++errors;
              break;
            }
        }
        tier_kv_touch(pool, ids, 4, 1, 0);
        if (tier_kv_seq_unpin(pool, seq) != TIER_OK) ++errors;
        if (tier_kv_seq_free(pool, seq) != TIER_OK) ++errors;
      }
    });
  }
  for (auto &th : threads) th.join();
  REQUIRE(tier_agent_stop(rt.rt) == TIER_OK);
  CHECK(errors == 0);
  const tier_kv_pool_stats s = stats_of(pool);
  CHECK(s.in_use == 0);
  CHECK(s.sequences == 0);
  CHECK(s.free + s.cached == s.blocks);
  CHECK(s.lookup_hits > 0);
  tier_agent_stats as{};
  as.size = sizeof as;
  REQUIRE(tier_agent_stats_get(rt.rt, &as) == TIER_OK);
  CHECK(as.epochs > 0);
  CHECK(as.pages_failed == 0);
  tier_kv_pool_destroy(pool);
}
