// kv_api.cpp - the C ABI of include/tier/kv.h over BlockPool.
//
// Every entry validates its handle, runs under alloc::guarded (no exception crosses the ABI;
// bookkeeping allocation failures become TIER_ENOMEM) and turns an Error into the thread's last
// error. tier_kv_touch, tier_kv_block_addr and tier_kv_where stay lock-free.
#include <memory>

#include "alloc/abi.hpp"
#include "kv/block_pool.hpp"
#include "tier/kv.h"

struct tier_kv_pool {
  std::unique_ptr<tier::kv::BlockPool> impl;
};

using tier::Status;
using tier::alloc::guarded;
using tier::alloc::with_handle;

extern "C" {

TIER_API void tier_kv_pool_options_init(tier_kv_pool_options *options) {
  if (options) *options = TIER_KV_POOL_OPTIONS_INIT;
}

TIER_API tier_status tier_kv_pool_create(tier_runtime *rt, const tier_kv_pool_options *options,
                                         tier_kv_pool **out) {
  return guarded("tier_kv_pool_create", tier_status{TIER_ENOMEM}, [&]() -> tier_status {
    if (!out) return tier::set_last_error(TIER_EINVAL, "tier_kv_pool_create: out is NULL");
    *out = nullptr;
    tier::Result<tier::kv::PoolConfig> c = tier::kv::pool_config(options);
    if (!c) return tier::set_last_error(c.error());
    auto p = tier::kv::BlockPool::create(rt, *c);
    if (!p) return tier::set_last_error(p.error());
    *out = new tier_kv_pool{std::move(*p)};
    return TIER_OK;
  });
}

TIER_API void tier_kv_pool_destroy(tier_kv_pool *pool) {
  guarded("tier_kv_pool_destroy", 0, [&] {
    delete pool;
    return 0;
  });
}

TIER_API tier_status tier_kv_alloc(tier_kv_pool *pool, size_t n, tier_kv_block *ids, void **addrs) {
  return with_handle("tier_kv_alloc", pool, "pool",
                     [&](auto &p) { return p.alloc(n, ids, addrs); });
}

TIER_API tier_status tier_kv_publish(tier_kv_pool *pool, tier_kv_block id, uint64_t hash,
                                     tier_kv_block *holder) {
  return with_handle("tier_kv_publish", pool, "pool",
                     [&](auto &p) { return p.publish(id, hash, holder); });
}

TIER_API tier_status tier_kv_lookup(tier_kv_pool *pool, const uint64_t *hashes, size_t n,
                                    tier_kv_block *ids, void **addrs, size_t *found) {
  return with_handle("tier_kv_lookup", pool, "pool",
                     [&](auto &p) { return p.lookup(hashes, n, ids, addrs, found); });
}

TIER_API tier_status tier_kv_retain(tier_kv_pool *pool, const tier_kv_block *ids, size_t n) {
  return with_handle("tier_kv_retain", pool, "pool", [&](auto &p) { return p.retain(ids, n); });
}

TIER_API tier_status tier_kv_release(tier_kv_pool *pool, const tier_kv_block *ids, size_t n) {
  return with_handle("tier_kv_release", pool, "pool", [&](auto &p) { return p.release(ids, n); });
}

TIER_API tier_status tier_kv_pin(tier_kv_pool *pool, const tier_kv_block *ids, size_t n) {
  return with_handle("tier_kv_pin", pool, "pool", [&](auto &p) { return p.pin(ids, n); });
}

TIER_API tier_status tier_kv_unpin(tier_kv_pool *pool, const tier_kv_block *ids, size_t n) {
  return with_handle("tier_kv_unpin", pool, "pool", [&](auto &p) { return p.unpin(ids, n); });
}

TIER_API void tier_kv_touch(tier_kv_pool *pool, const tier_kv_block *ids, size_t n, uint32_t reads,
                            uint32_t writes) {
  if (pool) pool->impl->touch(ids, n, reads, writes);
}

TIER_API void *tier_kv_block_addr(const tier_kv_pool *pool, tier_kv_block id) {
  return pool ? pool->impl->addr(id) : nullptr;
}

TIER_API tier_status tier_kv_where(const tier_kv_pool *pool, const tier_kv_block *ids, size_t n,
                                   int *tiers) {
  if (!pool || (n && (!ids || !tiers)))
    return tier::set_last_error(TIER_EINVAL, "tier_kv_where: pool, ids or tiers is NULL");
  for (size_t i = 0; i < n; ++i) tiers[i] = pool->impl->tier_of(ids[i]);
  return TIER_OK;
}

TIER_API tier_status tier_kv_block_info_get(tier_kv_pool *pool, tier_kv_block id,
                                            tier_kv_block_info *info) {
  return with_handle("tier_kv_block_info_get", pool, "pool",
                     [&](auto &p) { return p.info(id, info); });
}

TIER_API tier_status tier_kv_pool_stats_get(tier_kv_pool *pool, tier_kv_pool_stats *stats) {
  return with_handle("tier_kv_pool_stats_get", pool, "pool", [&](auto &p) -> Status {
    if (!stats || stats->size != sizeof(tier_kv_pool_stats))
      return tier::make_error(TIER_EINVAL,
                              "tier_kv_pool_stats_get: stats is NULL or stats->size is wrong");
    p.stats(stats);
    return {};
  });
}

TIER_API tier_status tier_kv_seq_share(tier_kv_pool *pool, uint64_t seq, const uint64_t *hashes,
                                       size_t n, tier_kv_block *ids, void **addrs, size_t *found) {
  return with_handle("tier_kv_seq_share", pool, "pool",
                     [&](auto &p) { return p.seq_share(seq, hashes, n, ids, addrs, found); });
}

TIER_API tier_status tier_kv_seq_extend(tier_kv_pool *pool, uint64_t seq, size_t n,
                                        tier_kv_block *ids, void **addrs) {
  return with_handle("tier_kv_seq_extend", pool, "pool",
                     [&](auto &p) { return p.seq_extend(seq, n, ids, addrs); });
}

TIER_API tier_status tier_kv_seq_blocks(tier_kv_pool *pool, uint64_t seq, tier_kv_block *ids,
                                        size_t cap, size_t *count) {
  return with_handle("tier_kv_seq_blocks", pool, "pool",
                     [&](auto &p) { return p.seq_blocks(seq, ids, cap, count); });
}

TIER_API tier_status tier_kv_seq_pin(tier_kv_pool *pool, uint64_t seq) {
  return with_handle("tier_kv_seq_pin", pool, "pool",
                     [&](auto &p) { return p.seq_pin(seq, true); });
}

TIER_API tier_status tier_kv_seq_unpin(tier_kv_pool *pool, uint64_t seq) {
  return with_handle("tier_kv_seq_unpin", pool, "pool",
                     [&](auto &p) { return p.seq_pin(seq, false); });
}

TIER_API tier_status tier_kv_seq_touch(tier_kv_pool *pool, uint64_t seq, uint32_t reads,
                                       uint32_t writes) {
  return with_handle("tier_kv_seq_touch", pool, "pool",
                     [&](auto &p) { return p.seq_touch(seq, reads, writes); });
}

TIER_API tier_status tier_kv_seq_free(tier_kv_pool *pool, uint64_t seq) {
  return with_handle("tier_kv_seq_free", pool, "pool", [&](auto &p) { return p.seq_free(seq); });
}

}  // extern "C"
