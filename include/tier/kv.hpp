// kv.hpp - the C++20 layer over kv.h: an owning KV block pool handle, calls returning
// tier::expected, and an RAII pin for the blocks of a step. Header-only; links against
// libtier's C ABI. Errors as in tier.hpp: a failed call returns the tier::failure (status,
// message of tier_last_error(), errno); nothing throws except expected::value() on a failure
// and std::bad_alloc from the vectors.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "tier/kv.h"
#include "tier/tier.hpp"

namespace tier {

class KvPool {
 public:
  struct Options {
    uint64_t block_bytes = 0;  // or block_tokens x bytes_per_token
    uint32_t block_tokens = 0;
    uint64_t bytes_per_token = 0;
    uint32_t max_blocks = 0;
    uint32_t blocks_per_slab = 0;  // 0 = about 64 MiB a slab
    std::optional<Policy> policy;  // where slabs go (default: preferred fastest)
  };

  static expected<KvPool> create(tier_runtime *runtime, const Options &o) {
    tier_kv_pool_options c = TIER_KV_POOL_OPTIONS_INIT;
    c.block_bytes = o.block_bytes;
    c.block_tokens = o.block_tokens;
    c.bytes_per_token = o.bytes_per_token;
    c.max_blocks = o.max_blocks;
    c.blocks_per_slab = o.blocks_per_slab;
    if (o.policy) c.policy = o.policy->c_policy();
    tier_kv_pool *p = nullptr;
    if (tier_kv_pool_create(runtime, &c, &p) != TIER_OK) return failure::last();
    return KvPool(p);
  }

  KvPool(KvPool &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  KvPool &operator=(KvPool &&o) noexcept {
    if (this != &o) {
      tier_kv_pool_destroy(p_);
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  KvPool(const KvPool &) = delete;
  KvPool &operator=(const KvPool &) = delete;
  ~KvPool() { tier_kv_pool_destroy(p_); }

  tier_kv_pool *get() const noexcept { return p_; }

  // n new blocks, one reference each; all or nothing (TIER_ENOMEM when the pool is full).
  expected<std::vector<tier_kv_block>> alloc(size_t n) {
    std::vector<tier_kv_block> ids(n);
    if (tier_kv_alloc(p_, n, ids.data(), nullptr) != TIER_OK) return failure::last();
    return ids;
  }
  // The blocks of the longest published prefix of `hashes` (each with a new reference).
  expected<std::vector<tier_kv_block>> lookup(std::span<const uint64_t> hashes) {
    std::vector<tier_kv_block> ids(hashes.size());
    size_t found = 0;
    if (tier_kv_lookup(p_, hashes.data(), hashes.size(), ids.data(), nullptr, &found) != TIER_OK)
      return failure::last();
    ids.resize(found);
    return ids;
  }
  // Publishes `id` under `hash`; returns the block holding the hash now.
  expected<tier_kv_block> publish(tier_kv_block id, uint64_t hash) {
    tier_kv_block holder = TIER_KV_NO_BLOCK;
    if (tier_kv_publish(p_, id, hash, &holder) != TIER_OK) return failure::last();
    return holder;
  }
  expected<void> retain(std::span<const tier_kv_block> ids) {
    return check(tier_kv_retain(p_, ids.data(), ids.size()));
  }
  expected<void> release(std::span<const tier_kv_block> ids) {
    return check(tier_kv_release(p_, ids.data(), ids.size()));
  }
  void touch(std::span<const tier_kv_block> ids, uint32_t reads, uint32_t writes) noexcept {
    tier_kv_touch(p_, ids.data(), ids.size(), reads, writes);
  }
  void *addr(tier_kv_block id) const noexcept { return tier_kv_block_addr(p_, id); }

  // Pins blocks for the lifetime of the guard (a step's working set).
  class Pin {
   public:
    Pin(Pin &&o) noexcept : pool_(std::exchange(o.pool_, nullptr)), ids_(std::move(o.ids_)) {}
    Pin &operator=(Pin &&) = delete;
    Pin(const Pin &) = delete;
    ~Pin() {
      if (pool_) (void)tier_kv_unpin(pool_, ids_.data(), ids_.size());
    }

   private:
    friend class KvPool;
    Pin(tier_kv_pool *pool, std::vector<tier_kv_block> ids) : pool_(pool), ids_(std::move(ids)) {}
    tier_kv_pool *pool_;
    std::vector<tier_kv_block> ids_;
  };
  expected<Pin> pin(std::span<const tier_kv_block> ids) {
    if (tier_kv_pin(p_, ids.data(), ids.size()) != TIER_OK) return failure::last();
    return Pin(p_, std::vector<tier_kv_block>(ids.begin(), ids.end()));
  }

  expected<tier_kv_pool_stats> stats() const {
    tier_kv_pool_stats s{};
    s.size = sizeof s;
    if (tier_kv_pool_stats_get(p_, &s) != TIER_OK) return failure::last();
    return s;
  }

 private:
  explicit KvPool(tier_kv_pool *p) noexcept : p_(p) {}
  static expected<void> check(tier_status s) {
    if (s != TIER_OK) return failure::last();
    return {};
  }
  tier_kv_pool *p_ = nullptr;
};

}  // namespace tier
