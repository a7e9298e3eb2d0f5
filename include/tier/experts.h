/*
 * experts.h - MoE expert weights on tiered memory: register expert tensors, record the
 * router's decisions as heat, hint the next layer's experts ahead of time, and let the
 * placement policy keep the hottest experts on the fastest tier.
 *
 * The conventions of tier.h apply: tier_status returns, the thread's last error, structs
 * starting with `size`, no abort and no exception across the ABI.
 *
 * Model (docs/kv.md, "Expert weights"):
 *  - A set covers `layers` x `experts_per_layer` slots. Each registered expert tensor is one
 *    object the runtime heats and moves whole (a region registered with TIER_GROUP_WHOLE), so
 *    it should start on a 2 MiB boundary and not share a 2 MiB chunk with another expert: the
 *    set allocates such memory itself when `data` is NULL (the usual case; the tensor is placed
 *    by the set's policy), or registers the caller's memory (on emulated topologies only memory
 *    the runtime allocated can move).
 *  - tier_experts_route(layer, experts, tokens): the router's decision for one layer of one
 *    step. Each selected expert's chunks are credited `tokens` reads (tier_touch), so heat
 *    follows the tokens routed to it (one token at a time reads the weights once per token);
 *    with TIER_EXPERTS_HEAT_PER_SELECTION, or tokens = NULL, one read per selection (a batched
 *    layer reads each selected expert's weights once per step).
 *  - tier_experts_prefetch(layer, experts): the experts a predictor expects for an upcoming
 *    layer get `prefetch_weight` reads now, so the policy sees them hot at its next epoch,
 *    ahead of their use.
 *  - The agent (tier_agent_start or tier_epoch) does the moving; with the default `heat`
 *    policy the hottest experts per MiB end on the fastest tier that has room.
 *
 * Thread-safety: every call is thread-safe. route, prefetch and touch take no lock (routing is
 * on the inference hot path); register, unregister, info and stats serialise on the set's
 * mutex. tier_experts_destroy must not race with other calls on the set.
 */
#ifndef TIER_EXPERTS_H
#define TIER_EXPERTS_H

#include "tier/heat.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tier_experts tier_experts;

typedef struct tier_experts_options {
  size_t size;                /* sizeof(tier_experts_options) */
  uint32_t layers;            /* > 0 */
  uint32_t experts_per_layer; /* > 0; layers x experts_per_layer <= 2^20 */
  const tier_policy *policy;  /* where the set allocates tensors (NULL = preferred fastest,
                                 then down the ranking); copied at creation */
  uint32_t prefetch_weight;   /* reads credited per prefetched expert (0 = 1) */
  uint32_t flags;             /* TIER_EXPERTS_* */
} tier_experts_options;

/* tier_experts_route credits one read per selected expert, whatever its token count (a
 * batched layer reads a selected expert's weights once per step, so memory traffic does not
 * grow with tokens). Tokens are still counted in the statistics. Default: tokens[i] reads. */
#define TIER_EXPERTS_HEAT_PER_SELECTION 0x1u

#define TIER_EXPERTS_OPTIONS_INIT \
  { sizeof(tier_experts_options), 0u, 0u, NULL, 0u, 0u }

TIER_API void tier_experts_options_init(tier_experts_options *options);

/* TIER_EINVAL names a bad field. */
TIER_API tier_status tier_experts_create(tier_runtime *runtime, const tier_experts_options *options,
                                         tier_experts **out);
/* Unregisters every expert and frees the tensors the set allocated (not the caller's).
 * NULL is ignored. */
TIER_API void tier_experts_destroy(tier_experts *set);

/* Flags of tier_expert_desc. */
/* The tensor is not written after loading (weights). Recorded and reported by
 * tier_experts_info_get; it is the property tierd's CXL-pool sharing keys on (one copy of
 * read-mostly data mapped by several hosts). The in-process runtime does not act on it. */
#define TIER_EXPERT_READ_MOSTLY 0x1u

typedef struct tier_expert_desc {
  size_t size;     /* sizeof(tier_expert_desc) */
  uint32_t layer;  /* < layers */
  uint32_t expert; /* < experts_per_layer */
  uint64_t bytes;  /* > 0 */
  void *data;      /* NULL = the set allocates it (zeroed, chunk-aligned); else caller memory */
  uint32_t flags;  /* TIER_EXPERT_* */
} tier_expert_desc;

#define TIER_EXPERT_DESC_INIT \
  { sizeof(tier_expert_desc), 0u, 0u, 0ull, NULL, 0u }

/* Registers one expert tensor; `addr` (may be NULL) receives its address (stable while it is
 * registered: moves keep addresses). TIER_EINVAL: bad layer, expert, size, flags;
 * TIER_EBUSY: the slot is taken, or the memory overlaps a registered range; TIER_ENOMEM: no
 * tier allowed by the set's policy has room. Nothing is left registered on failure. */
TIER_API tier_status tier_experts_register(tier_experts *set, const tier_expert_desc *desc,
                                           void **addr);
/* Forgets an expert (and frees it when the set allocated it). TIER_EINVAL when the slot is
 * empty. */
TIER_API tier_status tier_experts_unregister(tier_experts *set, uint32_t layer, uint32_t expert);
/* Address of a registered expert, or NULL. Lock-free. */
TIER_API void *tier_experts_addr(const tier_experts *set, uint32_t layer, uint32_t expert);

/* The router's decision for `layer`: experts[i] received tokens[i] tokens (tokens may be NULL:
 * one each). Unregistered experts are counted as errors: TIER_EINVAL names the first, after
 * the others were credited. Lock-free. */
TIER_API tier_status tier_experts_route(tier_experts *set, uint32_t layer, const uint32_t *experts,
                                        const uint32_t *tokens, size_t n);
/* A hint that `experts` of `layer` will be used soon (the next layer, the next step): each is
 * credited `prefetch_weight` reads now. Lock-free; same errors as route. */
TIER_API tier_status tier_experts_prefetch(tier_experts *set, uint32_t layer,
                                           const uint32_t *experts, size_t n);
/* Any other access the caller knows about (loading or updating weights). Lock-free. */
TIER_API tier_status tier_experts_touch(tier_experts *set, uint32_t layer, uint32_t expert,
                                        uint32_t reads, uint32_t writes);

typedef struct tier_expert_info {
  size_t size; /* sizeof(tier_expert_info) */
  void *addr;
  uint64_t bytes;
  uint32_t flags;
  int owned;              /* 1 when the set allocated it */
  int node;               /* node it is on now (-1 unknown) */
  int tier;               /* its rank (-1 unknown) */
  uint64_t routed_tokens; /* tokens routed to it so far */
  uint64_t routings;      /* route calls that selected it */
  uint64_t prefetches;
} tier_expert_info;

/* TIER_EINVAL for an empty slot or a bad struct size. */
TIER_API tier_status tier_experts_info_get(tier_experts *set, uint32_t layer, uint32_t expert,
                                           tier_expert_info *info);

typedef struct tier_experts_stats {
  size_t size;         /* sizeof(tier_experts_stats) */
  uint32_t registered; /* experts */
  uint64_t bytes;      /* their bytes */
  uint64_t routed_tokens;
  uint64_t routings;
  uint64_t prefetches;
  uint32_t experts_on_tier[8]; /* by the tier each expert's first byte is on now */
  uint64_t bytes_on_tier[8];
} tier_experts_stats;

TIER_API tier_status tier_experts_stats_get(tier_experts *set, tier_experts_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* TIER_EXPERTS_H */
