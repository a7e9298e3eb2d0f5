/*
 * kv.h - a KV-cache block pool on tiered memory, shaped for paged-attention engines.
 *
 * The conventions of tier.h apply: tier_status returns (TIER_OK == 0), the calling thread's
 * last error (tier_last_error() names what was wrong), structs starting with `size`, no abort
 * and no exception across the ABI.
 *
 * Model (docs/kv.md has the adoption guide for vLLM- and SGLang-style engines):
 *  - A pool hands out fixed-size blocks, each identified by a dense id (0 .. max_blocks-1) and
 *    an address. One block occupies one or more WHOLE 2 MiB chunks (its bytes are rounded up
 *    to whole chunks; a block never shares a chunk), so the runtime's policy heats and moves
 *    whole blocks. Block addresses never change: the movers keep virtual addresses.
 *  - Memory comes from the runtime in slabs of several blocks, each slab one large allocation
 *    placed by the pool's policy (by default the fastest tier with room, falling down the
 *    ranking) and registered with tier_region_register(group_hint = block stride), so the
 *    in-process agent (or tierd) moves whole blocks by heat. Slabs are added as blocks are
 *    needed, up to max_blocks, and kept until the pool is destroyed.
 *  - A block is free, in use (reference count > 0), or cached: a block whose content was
 *    published under a hash (tier_kv_publish) keeps it after its last release, so that a later
 *    tier_kv_lookup of the same prefix finds it. Cached blocks are reused, least recently
 *    released first, only when no free block is left and the pool cannot grow.
 *  - Allocation takes free blocks on the fastest tier first (a new block is written now).
 *  - Per-sequence block tables (tier_kv_seq_*) are an optional layer over the block calls for
 *    engines that do not keep their own.
 *  - Full pool: TIER_ENOMEM, and nothing is changed (allocations are all or nothing).
 *
 * Thread-safety: every call is thread-safe. tier_kv_touch, tier_kv_block_addr and
 * tier_kv_where take no lock (an engine's workers call them concurrently while the scheduler
 * allocates); the other calls serialise on the pool's mutex and are short (no system call but
 * when a slab is added). tier_kv_pool_destroy must not race with other calls on the pool.
 */
#ifndef TIER_KV_H
#define TIER_KV_H

#include "tier/heat.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tier_kv_pool tier_kv_pool;
typedef uint32_t tier_kv_block; /* block id, 0 .. max_blocks-1 */
#define TIER_KV_NO_BLOCK UINT32_MAX

typedef struct tier_kv_pool_options {
  size_t size;               /* sizeof(tier_kv_pool_options) */
  uint64_t block_bytes;      /* bytes of one block; 0 = block_tokens * bytes_per_token */
  uint32_t block_tokens;     /* tokens per block (for block_bytes and the statistics) */
  uint64_t bytes_per_token;  /* KV bytes of one token over all layers */
  uint32_t max_blocks;       /* the most blocks the pool holds (> 0) */
  uint32_t blocks_per_slab;  /* blocks added together (0 = a slab of about 64 MiB, >= 1 block) */
  const tier_policy *policy; /* where slabs go (NULL = preferred fastest, then down the ranking);
                                copied at creation */
  uint32_t flags;            /* reserved, 0 */
} tier_kv_pool_options;

#define TIER_KV_POOL_OPTIONS_INIT \
  { sizeof(tier_kv_pool_options), 0ull, 0u, 0ull, 0u, 0u, NULL, 0u }

TIER_API void tier_kv_pool_options_init(tier_kv_pool_options *options);

/* Creates a pool. TIER_EINVAL names a bad field (zero block size or max_blocks, a block of
 * more than 1 GiB, flags); TIER_ENOMEM when no slab can be placed at all. One slab is
 * allocated and registered now, the rest on demand. */
TIER_API tier_status tier_kv_pool_create(tier_runtime *runtime, const tier_kv_pool_options *options,
                                         tier_kv_pool **out);
/* Unregisters and frees every slab (blocks still in use are freed too: the engine is done with
 * them) and the pool's bookkeeping. NULL is ignored. */
TIER_API void tier_kv_pool_destroy(tier_kv_pool *pool);

/* ---- Blocks ---------------------------------------------------------------------------- */

/* Allocates `n` blocks, each with one reference and no hash. `ids` receives their ids and
 * `addrs` (may be NULL) their addresses. All or nothing: TIER_ENOMEM when the pool is full
 * (free blocks, room to grow and cached blocks all exhausted), with nothing allocated. */
TIER_API tier_status tier_kv_alloc(tier_kv_pool *pool, size_t n, tier_kv_block *ids, void **addrs);

/* Publishes block `id` (in use) as holding the content identified by `hash`, e.g. the hash of
 * its tokens chained with its prefix's hash. `holder` (may be NULL) receives the block that
 * holds the hash now: `id`, or an earlier block already published under it, in which case `id`
 * stays private (two sequences computed the same block; the engine may switch to `holder`).
 * Re-publishing a block under its own hash is a no-op. TIER_EINVAL for a block not in use or
 * already published under another hash. */
TIER_API tier_status tier_kv_publish(tier_kv_pool *pool, tier_kv_block id, uint64_t hash,
                                     tier_kv_block *holder);

/* Looks up the longest prefix of `hashes[0..n)` whose blocks are published and takes one
 * reference on each (a cached block comes back in use). `*found` receives the prefix length;
 * ids[0..found) (and addrs, may be NULL) the blocks. Never TIER_ENOMEM; a miss is found = 0. */
TIER_API tier_status tier_kv_lookup(tier_kv_pool *pool, const uint64_t *hashes, size_t n,
                                    tier_kv_block *ids, void **addrs, size_t *found);

/* Adds one reference to each block (in use or cached), e.g. to share a block table with a
 * forked sequence. TIER_EINVAL (nothing changed) for a free block or a bad id. */
TIER_API tier_status tier_kv_retain(tier_kv_pool *pool, const tier_kv_block *ids, size_t n);
/* Drops one reference from each block (an id may repeat, once per reference). At zero, a
 * published block becomes cached (findable, reusable when the pool needs room), any other
 * becomes free. TIER_EINVAL (nothing changed) for more releases than references, a bad id;
 * TIER_EBUSY when the last reference of a pinned block would go. */
TIER_API tier_status tier_kv_release(tier_kv_pool *pool, const tier_kv_block *ids, size_t n);

/* Pins the blocks a step computes on (never moved while pinned) and unpins them after it.
 * Counted; blocks must be in use. TIER_EINVAL (nothing changed) for a bad id, a block not in
 * use, or an unpin without a pin. */
TIER_API tier_status tier_kv_pin(tier_kv_pool *pool, const tier_kv_block *ids, size_t n);
TIER_API tier_status tier_kv_unpin(tier_kv_pool *pool, const tier_kv_block *ids, size_t n);

/* Reports accesses to whole blocks (tier_touch on each block's bytes): call it on every read
 * (attention over the block) and write (appending tokens). Lock-free; bad ids are ignored. */
TIER_API void tier_kv_touch(tier_kv_pool *pool, const tier_kv_block *ids, size_t n, uint32_t reads,
                            uint32_t writes);

/* Address of block `id` (stable for the pool's life), or NULL for an id the pool has not
 * reached. Lock-free. */
TIER_API void *tier_kv_block_addr(const tier_kv_pool *pool, tier_kv_block id);

/* The tier (rank, 0 = fastest) each block is on now, -1 when unknown (never written, or a bad
 * id). Lock-free: a page-map load on emulated topologies, one move_pages(2) query per block
 * on real ones. */
TIER_API tier_status tier_kv_where(const tier_kv_pool *pool, const tier_kv_block *ids, size_t n,
                                   int *tiers);

typedef enum tier_kv_state {
  TIER_KV_FREE = 0,
  TIER_KV_IN_USE = 1,
  TIER_KV_CACHED = 2, /* published, no reference: findable, reusable under pressure */
} tier_kv_state;

typedef struct tier_kv_block_info {
  size_t size; /* sizeof(tier_kv_block_info) */
  void *addr;
  uint64_t bytes; /* usable bytes (the block size asked for) */
  tier_kv_state state;
  uint32_t refs;
  uint32_t pins;
  int published; /* 1 when it holds `hash` */
  uint64_t hash;
  int node; /* node it is on now (-1 unknown) */
  int tier;
} tier_kv_block_info;

/* TIER_EINVAL for a bad id or struct size. */
TIER_API tier_status tier_kv_block_info_get(tier_kv_pool *pool, tier_kv_block id,
                                            tier_kv_block_info *info);

typedef struct tier_kv_pool_stats {
  size_t size;           /* sizeof(tier_kv_pool_stats) */
  uint64_t block_bytes;  /* usable bytes of a block */
  uint64_t block_stride; /* bytes a block occupies (whole chunks) */
  uint32_t block_tokens;
  uint32_t max_blocks;
  uint32_t blocks; /* blocks the pool holds now (its slabs) */
  uint32_t in_use;
  uint32_t cached;
  uint32_t free;
  uint32_t slabs;
  uint32_t sequences;
  uint64_t allocs;            /* blocks handed out by tier_kv_alloc */
  uint64_t lookups;           /* hashes asked by tier_kv_lookup (up to the first miss) */
  uint64_t lookup_hits;       /* of which found */
  uint64_t evictions;         /* cached blocks reused for new content */
  uint64_t full;              /* calls refused with TIER_ENOMEM */
  uint64_t blocks_on_tier[8]; /* blocks the pool holds per tier now (page map / kernel) */
} tier_kv_pool_stats;

/* TIER_EINVAL for NULL or a bad size. Costs one placement query per block (blocks_on_tier):
 * a page-map load each on emulated topologies, a move_pages(2) query each on real ones. */
TIER_API tier_status tier_kv_pool_stats_get(tier_kv_pool *pool, tier_kv_pool_stats *stats);

/* ---- Per-sequence block tables ---------------------------------------------------------- */

/* A sequence is named by the caller (a request id); it exists from its first extend or share
 * until tier_kv_seq_free. Its table lists its blocks in token order, each holding one of the
 * sequence's references. */

/* Appends the longest published prefix of hashes[0..n) to the sequence's table (taking a
 * reference on each, as tier_kv_lookup). `found`, `ids`, `addrs` as there (ids, addrs may be
 * NULL). Meant for a new sequence's prompt. */
TIER_API tier_status tier_kv_seq_share(tier_kv_pool *pool, uint64_t seq, const uint64_t *hashes,
                                       size_t n, tier_kv_block *ids, void **addrs, size_t *found);
/* Allocates `n` new blocks at the end of the sequence's table (as tier_kv_alloc; ids and addrs
 * may be NULL). TIER_ENOMEM leaves the sequence as it was. */
TIER_API tier_status tier_kv_seq_extend(tier_kv_pool *pool, uint64_t seq, size_t n,
                                        tier_kv_block *ids, void **addrs);
/* Copies up to `cap` ids of the table into `ids` (may be NULL with cap 0); `*count` receives
 * the table's length. TIER_EINVAL for an unknown sequence. */
TIER_API tier_status tier_kv_seq_blocks(tier_kv_pool *pool, uint64_t seq, tier_kv_block *ids,
                                        size_t cap, size_t *count);
/* Pin / unpin / touch every block of the sequence (a step's working set). */
TIER_API tier_status tier_kv_seq_pin(tier_kv_pool *pool, uint64_t seq);
TIER_API tier_status tier_kv_seq_unpin(tier_kv_pool *pool, uint64_t seq);
TIER_API tier_status tier_kv_seq_touch(tier_kv_pool *pool, uint64_t seq, uint32_t reads,
                                       uint32_t writes);
/* Releases every block of the table and forgets the sequence. TIER_EBUSY (nothing changed)
 * while one of its blocks is pinned and this is its last reference. */
TIER_API tier_status tier_kv_seq_free(tier_kv_pool *pool, uint64_t seq);

#ifdef __cplusplus
}
#endif

#endif /* TIER_KV_H */
