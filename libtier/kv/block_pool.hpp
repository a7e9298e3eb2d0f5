// block_pool.hpp - the KV-cache block pool behind include/tier/kv.h.
//
// Blocks live in slabs: one large runtime allocation of `blocks_per_slab` blocks, each block
// `stride` bytes (whole 2 MiB chunks), registered with the agent as a region whose object
// groups are the blocks, so a block is heated and moved whole. Block id = slab * per_slab +
// index, so an id maps to an address with one array load (lock-free touch).
//
// Per block: references, pins, the published hash, and its place in one of three sets:
//  - free: bucketed by the tier it was on when last seen, so allocation takes blocks on the
//    fastest tier first; a bucket entry is checked against the page map when popped (the agent
//    may have moved the block meanwhile) and re-bucketed if it moved;
//  - in use: references > 0;
//  - cached: published, no references, on an LRU list (oldest reused first when the pool is out
//    of free blocks and cannot grow), and in the hash index.
// Sequences (per-request block tables) are in sequences.cpp over the same state.
//
// Thread-safety: `mu_` guards everything but the slab base array, whose entries are written
// once (release) before any id in the slab is handed out and read lock-free (acquire).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "alloc/runtime.hpp"
#include "common/result.hpp"
#include "tier/kv.h"

namespace tier::kv {

inline constexpr uint64_t kChunkBytes = uint64_t{2} << 20;
inline constexpr uint64_t kMaxBlockBytes = uint64_t{1} << 30;
inline constexpr int kMaxTiers = 8;  // tier_kv_pool_stats::blocks_on_tier

struct PoolConfig {
  uint64_t block_bytes = 0;
  uint64_t stride = 0;  // block_bytes rounded up to whole chunks
  uint32_t block_tokens = 0;
  uint32_t max_blocks = 0;
  uint32_t per_slab = 0;
  tier_policy policy{};
};

Result<PoolConfig> pool_config(const tier_kv_pool_options *options);

class BlockPool {
 public:
  static Result<std::unique_ptr<BlockPool>> create(tier_runtime *rt, const PoolConfig &config);
  ~BlockPool();  // unregisters and frees every slab
  BlockPool(const BlockPool &) = delete;
  BlockPool &operator=(const BlockPool &) = delete;

  // ---- Lock-free ----
  void *addr(tier_kv_block id) const;
  void touch(const tier_kv_block *ids, size_t n, uint32_t reads, uint32_t writes) const;
  int tier_of(tier_kv_block id) const;  // -1 unknown
  int node_of(tier_kv_block id) const;

  // ---- Under the pool mutex ----
  Status alloc(size_t n, tier_kv_block *ids, void **addrs);
  Status publish(tier_kv_block id, uint64_t hash, tier_kv_block *holder);
  Status lookup(const uint64_t *hashes, size_t n, tier_kv_block *ids, void **addrs, size_t *found);
  Status retain(const tier_kv_block *ids, size_t n);
  Status release(const tier_kv_block *ids, size_t n);
  Status pin(const tier_kv_block *ids, size_t n);
  Status unpin(const tier_kv_block *ids, size_t n);
  Status info(tier_kv_block id, tier_kv_block_info *out);
  void stats(tier_kv_pool_stats *out);

  // Sequences (sequences.cpp).
  Status seq_share(uint64_t seq, const uint64_t *hashes, size_t n, tier_kv_block *ids, void **addrs,
                   size_t *found);
  Status seq_extend(uint64_t seq, size_t n, tier_kv_block *ids, void **addrs);
  Status seq_blocks(uint64_t seq, tier_kv_block *ids, size_t cap, size_t *count);
  Status seq_pin(uint64_t seq, bool pin);
  Status seq_touch(uint64_t seq, uint32_t reads, uint32_t writes);
  Status seq_free(uint64_t seq);

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Block {
    uint32_t refs = 0;
    uint32_t pins = 0;
    bool published = false;
    bool cached = false;  // on the LRU list
    uint64_t hash = 0;
    uint32_t lru_prev = kNone, lru_next = kNone;
  };
  struct Slab {
    void *base = nullptr;
    uint32_t region = 0;
  };

  BlockPool(tier_runtime *rt, const PoolConfig &c);

  // All under mu_.
  Status add_slab();
  bool take_free(tier_kv_block *id);  // fastest tier first
  void put_free(tier_kv_block id);
  Status check_id(tier_kv_block id, const char *call) const;
  Status alloc_locked(size_t n, tier_kv_block *ids, void **addrs);
  Status lookup_locked(const uint64_t *hashes, size_t n, tier_kv_block *ids, void **addrs,
                       size_t *found);
  Status release_locked(const tier_kv_block *ids, size_t n, const char *call);
  Status pin_locked(const tier_kv_block *ids, size_t n, bool pin, const char *call);
  void lru_push(tier_kv_block id);  // newest at the tail
  void lru_remove(tier_kv_block id);
  void unpublish(tier_kv_block id);
  tier_kv_block block_count() const { return static_cast<tier_kv_block>(blocks_.size()); }

  tier_runtime *rt_;
  PoolConfig c_;
  tier_placement *placement_ = nullptr;
  uint32_t max_slabs_ = 0;
  std::unique_ptr<std::atomic<char *>[]> slab_base_;  // lock-free id -> address
  std::atomic<uint32_t> reached_{0};                  // blocks with a published slab

  mutable std::mutex mu_;
  std::vector<Slab> slabs_;
  std::vector<Block> blocks_;
  std::vector<std::vector<tier_kv_block>> free_by_tier_;  // [tier + 1]: slot 0 = unknown
  uint32_t free_count_ = 0;
  uint32_t lru_head_ = kNone, lru_tail_ = kNone;
  uint32_t cached_count_ = 0;
  std::unordered_map<uint64_t, tier_kv_block> by_hash_;
  std::unordered_map<uint64_t, std::vector<tier_kv_block>> seqs_;
  uint64_t allocs_ = 0, lookups_ = 0, lookup_hits_ = 0, evictions_ = 0, full_ = 0;
};

}  // namespace tier::kv
