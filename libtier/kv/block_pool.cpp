// block_pool.cpp - slabs, free buckets, the cached-block LRU, hashes, references and pins
// (see block_pool.hpp).
#include "kv/block_pool.hpp"

#include <algorithm>
#include <string>

#include "alloc/resident_node.hpp"
#include "tier/heat.h"

namespace tier::kv {

namespace {

std::string id_text(tier_kv_block id) {
  return "block " + std::to_string(id);
}

// Occurrences of each id in a call's list, so that a list naming a block twice is validated
// against its counts before anything changes (all-or-nothing calls).
std::vector<std::pair<tier_kv_block, uint32_t>> occurrences(const tier_kv_block *ids, size_t n) {
  std::vector<tier_kv_block> sorted(ids, ids + n);
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::pair<tier_kv_block, uint32_t>> out;
  for (tier_kv_block id : sorted) {
    if (!out.empty() && out.back().first == id)
      ++out.back().second;
    else
      out.emplace_back(id, 1);
  }
  return out;
}

Error last_error_of(const std::string &what) {
  return make_error(tier_last_status(), what + ": " + tier_last_error());
}

}  // namespace

Result<PoolConfig> pool_config(const tier_kv_pool_options *o) {
  if (!o) return make_error(TIER_EINVAL, "tier_kv_pool_create: options is NULL");
  if (o->size != sizeof(tier_kv_pool_options))
    return make_error(TIER_EINVAL, "tier_kv_pool_create: options->size is " +
                                       std::to_string(o->size) + ", expected " +
                                       std::to_string(sizeof(tier_kv_pool_options)));
  if (o->flags) return make_error(TIER_EINVAL, "tier_kv_pool_create: options->flags must be 0");
  PoolConfig c;
  c.block_tokens = o->block_tokens;
  c.block_bytes = o->block_bytes;
  if (c.block_bytes == 0) {
    if (o->block_tokens && o->bytes_per_token > kMaxBlockBytes / o->block_tokens)
      return make_error(TIER_EINVAL,
                        "tier_kv_pool_create: block_tokens x bytes_per_token exceeds 1 GiB");
    c.block_bytes = uint64_t{o->block_tokens} * o->bytes_per_token;
  }
  if (c.block_bytes == 0)
    return make_error(TIER_EINVAL,
                      "tier_kv_pool_create: block size is 0 (set block_bytes, or block_tokens "
                      "and bytes_per_token)");
  if (c.block_bytes > kMaxBlockBytes)
    return make_error(TIER_EINVAL, "tier_kv_pool_create: block_bytes " +
                                       std::to_string(c.block_bytes) + " exceeds 1 GiB");
  if (o->max_blocks == 0 || o->max_blocks == TIER_KV_NO_BLOCK)
    return make_error(TIER_EINVAL, "tier_kv_pool_create: max_blocks must be in 1 .. 2^32-2");
  c.stride = (c.block_bytes + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
  c.max_blocks = o->max_blocks;
  c.per_slab = o->blocks_per_slab;
  if (c.per_slab == 0)
    c.per_slab = static_cast<uint32_t>(std::max<uint64_t>(1, (64ull << 20) / c.stride));
  c.per_slab = std::min(c.per_slab, c.max_blocks);
  if (o->policy)
    c.policy = *o->policy;
  else
    tier_policy_init(&c.policy);
  return c;
}

BlockPool::BlockPool(tier_runtime *rt, const PoolConfig &c) : rt_(rt), c_(c) {}

Result<std::unique_ptr<BlockPool>> BlockPool::create(tier_runtime *rt, const PoolConfig &c) {
  if (!rt) return make_error(TIER_EINVAL, "tier_kv_pool_create: runtime is NULL");
  std::unique_ptr<BlockPool> p(new BlockPool(rt, c));
  p->placement_ = tier_placement_get(rt, &c.policy);
  if (!p->placement_) return last_error_of("tier_kv_pool_create: options->policy");
  p->max_slabs_ = (c.max_blocks + c.per_slab - 1) / c.per_slab;
  p->slab_base_ = std::make_unique<std::atomic<char *>[]>(p->max_slabs_);
  for (uint32_t i = 0; i < p->max_slabs_; ++i) p->slab_base_[i].store(nullptr);
  p->free_by_tier_.resize(kMaxTiers + 1);
  std::lock_guard lock(p->mu_);
  if (Status s = p->add_slab(); !s) return std::move(s).error().context("tier_kv_pool_create");
  return p;
}

BlockPool::~BlockPool() {
  for (const Slab &s : slabs_) {
    (void)tier_region_unregister(rt_, s.region);
    (void)tier_free(rt_, s.base);
  }
}

// ---- Lock-free ------------------------------------------------------------------------------

void *BlockPool::addr(tier_kv_block id) const {
  if (id >= reached_.load(std::memory_order_acquire)) return nullptr;
  char *base = slab_base_[id / c_.per_slab].load(std::memory_order_acquire);
  return base ? base + uint64_t{id % c_.per_slab} * c_.stride : nullptr;
}

void BlockPool::touch(const tier_kv_block *ids, size_t n, uint32_t reads, uint32_t writes) const {
  if (!ids) return;
  for (size_t i = 0; i < n; ++i)
    if (void *a = addr(ids[i])) tier_touch(rt_, a, c_.block_bytes, reads, writes);
}

int BlockPool::node_of(tier_kv_block id) const {
  void *a = addr(id);
  return a ? alloc::resident_node(rt_, a) : -1;
}

int BlockPool::tier_of(tier_kv_block id) const {
  return alloc::tier_of_node(rt_, node_of(id));
}

// ---- Slabs and the free buckets ---------------------------------------------------------------

Status BlockPool::add_slab() {
  const uint32_t have = block_count();
  const uint32_t n = std::min(c_.per_slab, c_.max_blocks - have);
  if (n == 0)
    return make_error(TIER_ENOMEM,
                      "the pool holds max_blocks (" + std::to_string(c_.max_blocks) + ") blocks");
  const uint64_t bytes = uint64_t{n} * c_.stride;
  void *base = tier_aligned_alloc_p(rt_, kChunkBytes, bytes, placement_);
  if (!base) return last_error_of("adding a slab of " + std::to_string(n) + " blocks");
  uint32_t region = 0;
  // group_hint = stride: each block is one object group, heated and moved whole.
  if (tier_region_register(rt_, base, bytes, c_.stride, 0, &region) != TIER_OK) {
    Error e = last_error_of("registering a slab");
    (void)tier_free(rt_, base);
    return e;
  }
  slabs_.push_back(Slab{base, region});
  blocks_.resize(have + n);
  slab_base_[have / c_.per_slab].store(static_cast<char *>(base), std::memory_order_release);
  reached_.store(have + n, std::memory_order_release);
  // Push in reverse so that the slab's first block is handed out first.
  for (uint32_t i = n; i-- > 0;) put_free(have + i);
  return {};
}

void BlockPool::put_free(tier_kv_block id) {
  const int t = tier_of(id);
  const size_t bucket = t >= 0 && t < kMaxTiers ? static_cast<size_t>(t) : kMaxTiers;
  free_by_tier_[bucket].push_back(id);
  ++free_count_;
}

bool BlockPool::take_free(tier_kv_block *out) {
  for (size_t b = 0; b <= kMaxTiers; ++b) {
    auto &bucket = free_by_tier_[b];
    while (!bucket.empty()) {
      const tier_kv_block id = bucket.back();
      bucket.pop_back();
      const int t = tier_of(id);
      const size_t now = t >= 0 && t < kMaxTiers ? static_cast<size_t>(t) : kMaxTiers;
      if (now > b) {
        // The agent demoted it while it was free: file it where it is now (a later bucket,
        // so this loop ends).
        free_by_tier_[now].push_back(id);
        continue;
      }
      --free_count_;
      *out = id;
      return true;
    }
  }
  return false;
}

// ---- The cached-block LRU and the hash index -------------------------------------------------

void BlockPool::lru_push(tier_kv_block id) {
  Block &b = blocks_[id];
  b.cached = true;
  b.lru_prev = lru_tail_;
  b.lru_next = kNone;
  if (lru_tail_ != kNone)
    blocks_[lru_tail_].lru_next = id;
  else
    lru_head_ = id;
  lru_tail_ = id;
  ++cached_count_;
}

void BlockPool::lru_remove(tier_kv_block id) {
  Block &b = blocks_[id];
  if (b.lru_prev != kNone)
    blocks_[b.lru_prev].lru_next = b.lru_next;
  else
    lru_head_ = b.lru_next;
  if (b.lru_next != kNone)
    blocks_[b.lru_next].lru_prev = b.lru_prev;
  else
    lru_tail_ = b.lru_prev;
  b.lru_prev = b.lru_next = kNone;
  b.cached = false;
  --cached_count_;
}

void BlockPool::unpublish(tier_kv_block id) {
  Block &b = blocks_[id];
  if (!b.published) return;
  auto it = by_hash_.find(b.hash);
  if (it != by_hash_.end() && it->second == id) by_hash_.erase(it);
  b.published = false;
  b.hash = 0;
}

Status BlockPool::check_id(tier_kv_block id, const char *call) const {
  if (id >= block_count())
    return make_error(TIER_EINVAL, std::string(call) + ": " + id_text(id) +
                                       " does not exist (the pool holds " +
                                       std::to_string(block_count()) + " blocks)");
  return {};
}

// ---- Allocation -------------------------------------------------------------------------------

Status BlockPool::alloc_locked(size_t n, tier_kv_block *ids, void **addrs) {
  // Grow first (up to max_blocks, while the runtime has room), then reuse cached blocks: a
  // cached block is a prefix some later request may still hit.
  std::string grow_error;
  while (free_count_ < n && block_count() < c_.max_blocks) {
    Status s = add_slab();
    if (!s) {
      grow_error = s.error().message;
      break;
    }
  }
  if (free_count_ + cached_count_ < n) {
    ++full_;
    std::string msg = "tier_kv_alloc: pool full: " + std::to_string(n) + " blocks asked, " +
                      std::to_string(free_count_) + " free, " + std::to_string(cached_count_) +
                      " cached, " + std::to_string(block_count() - free_count_ - cached_count_) +
                      " in use, max_blocks " + std::to_string(c_.max_blocks);
    if (!grow_error.empty()) msg += " (cannot grow: " + grow_error + ")";
    return make_error(TIER_ENOMEM, msg);
  }
  for (size_t i = 0; i < n; ++i) {
    tier_kv_block id = TIER_KV_NO_BLOCK;
    if (!take_free(&id)) {
      id = lru_head_;
      lru_remove(id);
      unpublish(id);
      ++evictions_;
    }
    Block &b = blocks_[id];
    b.refs = 1;
    b.pins = 0;
    ids[i] = id;
    if (addrs) addrs[i] = addr(id);
  }
  allocs_ += n;
  return {};
}

Status BlockPool::alloc(size_t n, tier_kv_block *ids, void **addrs) {
  if (n && !ids) return make_error(TIER_EINVAL, "tier_kv_alloc: ids is NULL");
  std::lock_guard lock(mu_);
  return alloc_locked(n, ids, addrs);
}

// ---- Hashes -----------------------------------------------------------------------------------

Status BlockPool::publish(tier_kv_block id, uint64_t hash, tier_kv_block *holder) {
  std::lock_guard lock(mu_);
  if (Status s = check_id(id, "tier_kv_publish"); !s) return s;
  Block &b = blocks_[id];
  if (b.refs == 0)
    return make_error(TIER_EINVAL, "tier_kv_publish: " + id_text(id) + " is not in use");
  if (b.published) {
    if (b.hash != hash)
      return make_error(TIER_EINVAL, "tier_kv_publish: " + id_text(id) +
                                         " is already published under another hash");
    if (holder) *holder = id;
    return {};
  }
  auto [it, inserted] = by_hash_.emplace(hash, id);
  if (inserted) {
    b.published = true;
    b.hash = hash;
  }
  if (holder) *holder = it->second;
  return {};
}

Status BlockPool::lookup_locked(const uint64_t *hashes, size_t n, tier_kv_block *ids, void **addrs,
                                size_t *found) {
  size_t i = 0;
  for (; i < n; ++i) {
    auto it = by_hash_.find(hashes[i]);
    if (it == by_hash_.end()) break;
    const tier_kv_block id = it->second;
    Block &b = blocks_[id];
    if (b.cached) lru_remove(id);
    ++b.refs;
    if (ids) ids[i] = id;
    if (addrs) addrs[i] = addr(id);
  }
  lookups_ += i < n ? i + 1 : n;
  lookup_hits_ += i;
  *found = i;
  return {};
}

Status BlockPool::lookup(const uint64_t *hashes, size_t n, tier_kv_block *ids, void **addrs,
                         size_t *found) {
  if (!found || (n && (!hashes || !ids)))
    return make_error(TIER_EINVAL, "tier_kv_lookup: hashes, ids or found is NULL");
  std::lock_guard lock(mu_);
  return lookup_locked(hashes, n, ids, addrs, found);
}

// ---- References and pins ----------------------------------------------------------------------

Status BlockPool::retain(const tier_kv_block *ids, size_t n) {
  if (n && !ids) return make_error(TIER_EINVAL, "tier_kv_retain: ids is NULL");
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < n; ++i) {
    if (Status s = check_id(ids[i], "tier_kv_retain"); !s) return s;
    const Block &b = blocks_[ids[i]];
    if (b.refs == 0 && !b.cached)
      return make_error(TIER_EINVAL, "tier_kv_retain: " + id_text(ids[i]) + " is free");
  }
  for (size_t i = 0; i < n; ++i) {
    Block &b = blocks_[ids[i]];
    if (b.cached) lru_remove(ids[i]);
    ++b.refs;
  }
  return {};
}

Status BlockPool::release_locked(const tier_kv_block *ids, size_t n, const char *call) {
  const auto occ = occurrences(ids, n);
  for (const auto &[id, count] : occ) {
    if (Status s = check_id(id, call); !s) return s;
    const Block &b = blocks_[id];
    if (b.refs < count)
      return make_error(TIER_EINVAL, std::string(call) + ": " + id_text(id) + " has " +
                                         std::to_string(b.refs) + " references, " +
                                         std::to_string(count) + " released");
    if (b.refs == count && b.pins)
      return make_error(TIER_EBUSY, std::string(call) + ": " + id_text(id) +
                                        " is pinned; unpin it before its last release");
  }
  for (const auto &[id, count] : occ) {
    Block &b = blocks_[id];
    b.refs -= count;
    if (b.refs) continue;
    if (b.published)
      lru_push(id);
    else
      put_free(id);
  }
  return {};
}

Status BlockPool::release(const tier_kv_block *ids, size_t n) {
  if (n && !ids) return make_error(TIER_EINVAL, "tier_kv_release: ids is NULL");
  std::lock_guard lock(mu_);
  return release_locked(ids, n, "tier_kv_release");
}

Status BlockPool::pin_locked(const tier_kv_block *ids, size_t n, bool pin, const char *call) {
  const auto occ = occurrences(ids, n);
  for (const auto &[id, count] : occ) {
    if (Status s = check_id(id, call); !s) return s;
    const Block &b = blocks_[id];
    if (pin && b.refs == 0)
      return make_error(TIER_EINVAL, std::string(call) + ": " + id_text(id) + " is not in use");
    if (!pin && b.pins < count)
      return make_error(TIER_EINVAL, std::string(call) + ": " + id_text(id) + " has " +
                                         std::to_string(b.pins) + " pins, " +
                                         std::to_string(count) + " unpinned");
  }
  for (const auto &[id, count] : occ) {
    Block &b = blocks_[id];
    void *a = addr(id);
    for (uint32_t k = 0; k < count; ++k) {
      // The chunk table counts pins too, so it needs one call per pin.
      if (pin)
        (void)tier_pin(rt_, a, c_.block_bytes);
      else
        (void)tier_unpin(rt_, a, c_.block_bytes);
    }
    b.pins = pin ? b.pins + count : b.pins - count;
  }
  return {};
}

Status BlockPool::pin(const tier_kv_block *ids, size_t n) {
  if (n && !ids) return make_error(TIER_EINVAL, "tier_kv_pin: ids is NULL");
  std::lock_guard lock(mu_);
  return pin_locked(ids, n, true, "tier_kv_pin");
}

Status BlockPool::unpin(const tier_kv_block *ids, size_t n) {
  if (n && !ids) return make_error(TIER_EINVAL, "tier_kv_unpin: ids is NULL");
  std::lock_guard lock(mu_);
  return pin_locked(ids, n, false, "tier_kv_unpin");
}

// ---- Introspection ----------------------------------------------------------------------------

Status BlockPool::info(tier_kv_block id, tier_kv_block_info *out) {
  if (!out || out->size != sizeof(tier_kv_block_info))
    return make_error(TIER_EINVAL, "tier_kv_block_info_get: info is NULL or info->size is wrong");
  std::lock_guard lock(mu_);
  if (Status s = check_id(id, "tier_kv_block_info_get"); !s) return s;
  const Block &b = blocks_[id];
  out->addr = addr(id);
  out->bytes = c_.block_bytes;
  out->state = b.refs ? TIER_KV_IN_USE : b.cached ? TIER_KV_CACHED : TIER_KV_FREE;
  out->refs = b.refs;
  out->pins = b.pins;
  out->published = b.published ? 1 : 0;
  out->hash = b.hash;
  out->node = node_of(id);
  out->tier = alloc::tier_of_node(rt_, out->node);
  return {};
}

void BlockPool::stats(tier_kv_pool_stats *out) {
  std::lock_guard lock(mu_);
  const size_t size = out->size;
  *out = tier_kv_pool_stats{};
  out->size = size;
  out->block_bytes = c_.block_bytes;
  out->block_stride = c_.stride;
  out->block_tokens = c_.block_tokens;
  out->max_blocks = c_.max_blocks;
  out->blocks = block_count();
  out->cached = cached_count_;
  out->free = free_count_;
  out->in_use = block_count() - cached_count_ - free_count_;
  out->slabs = static_cast<uint32_t>(slabs_.size());
  out->sequences = static_cast<uint32_t>(seqs_.size());
  out->allocs = allocs_;
  out->lookups = lookups_;
  out->lookup_hits = lookup_hits_;
  out->evictions = evictions_;
  out->full = full_;
  for (tier_kv_block id = 0; id < block_count(); ++id) {
    const int t = tier_of(id);
    if (t >= 0 && t < kMaxTiers) ++out->blocks_on_tier[t];
  }
}

}  // namespace tier::kv
