/*
 * emulation.h - the memory cost model of Tier's emulation layer, as a C ABI.
 *
 * On an emulated topology a page placed on a "CXL" node is really DRAM, so its cost is
 * modelled: per node, a latency-bound part (random accesses x loaded latency / memory-level
 * parallelism) and a bandwidth-bound part (streamed bytes / bandwidth), with the loaded
 * latency rising as the node's bandwidth is used up:
 *     L(u) = L0 * (1 + a * u^k / (1 - u)),  a = 0.25, k = 4, u clipped to 0.95
 * (the shape of the Mess (MICRO'24) bandwidth-latency curves; docs/emulation.md). Migration
 * costs bytes / min(source, destination, copy bandwidth) plus a per-page overhead.
 *
 * Conventions are those of tier.h: tier_status returns, the thread's last error, structs
 * starting with `size`. A tier_cost_model is immutable once created and may be used from
 * several threads at once.
 */
#ifndef TIER_EMULATION_H
#define TIER_EMULATION_H

#include "tier/tier.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tier_cost_model tier_cost_model;

/* One node as the model sees it. Figures of 0 are filled from the kind's documented default
 * (write figures first from the read ones). curve_* of 0 take the defaults above. */
typedef struct tier_cost_node {
  size_t size; /* sizeof(tier_cost_node) */
  int id;
  tier_node_kind kind;
  double read_latency_ns;
  double write_latency_ns;
  double read_bandwidth_mbps; /* MB/s */
  double write_bandwidth_mbps;
  double curve_a;
  double curve_k;
  double curve_max_utilisation; /* in (0, 1) */
} tier_cost_node;

/* A model of the topology `spec` names, as tier_runtime_options.topology does (NULL = the
 * environment's TIER_TOPOLOGY, then discovery, then the `default` preset; a file path; a
 * preset name; "machine"). */
TIER_API tier_status tier_cost_model_create(const char *spec, tier_cost_model **out);
/* A model of explicitly described nodes (ids must be unique). */
TIER_API tier_status tier_cost_model_create_nodes(const tier_cost_node *nodes, int nnodes,
                                                  tier_cost_model **out);
TIER_API void tier_cost_model_destroy(tier_cost_model *model);

TIER_API int tier_cost_model_node_count(const tier_cost_model *model);
/* The parameters the model uses for its node at `index` (defaults resolved). */
TIER_API tier_status tier_cost_model_node_at(const tier_cost_model *model, int index,
                                             tier_cost_node *out);

/* Accesses to one node over the interval. Random accesses move one cache line each. */
typedef struct tier_cost_access {
  int node;
  uint64_t random_reads;
  uint64_t random_writes;
  uint64_t stream_read_bytes;
  uint64_t stream_write_bytes;
} tier_cost_access;

typedef struct tier_cost_options {
  size_t size;         /* sizeof(tier_cost_options) */
  double interval_s;   /* the interval's length; 0 = closed loop (the workload's own time) */
  double mlp;          /* misses in flight; 0 = default 8 (1 = pointer chasing) */
  uint32_t line_bytes; /* 0 = 64 */
} tier_cost_options;

#define TIER_COST_OPTIONS_INIT \
  { sizeof(tier_cost_options), 0.0, 0.0, 0u }

typedef struct tier_cost_node_result {
  int node;
  double utilisation;            /* bandwidth utilisation, after clipping */
  double loaded_read_latency_ns; /* L(u) for reads */
  double loaded_write_latency_ns;
  double latency_s;   /* latency-bound part */
  double bandwidth_s; /* bandwidth-bound part */
  double total_s;
  uint64_t bytes; /* bytes moved to and from the node */
} tier_cost_node_result;

#define TIER_COST_MAX_NODES 64

typedef struct tier_cost_result {
  size_t size; /* sizeof(tier_cost_result) */
  int nnodes;  /* entries of nodes[]: the nodes that had accesses, in the model's order */
  tier_cost_node_result nodes[TIER_COST_MAX_NODES];
  double latency_s; /* sums over the nodes (one thread's memory time) */
  double bandwidth_s;
  double total_s;
} tier_cost_result;

/* Modelled memory time of `accesses` (entries for the same node are summed). options may be
 * NULL. TIER_ENODEV names an access whose node the model lacks. */
TIER_API tier_status tier_cost_estimate(const tier_cost_model *model,
                                        const tier_cost_access *accesses, size_t naccesses,
                                        const tier_cost_options *options, tier_cost_result *out);

/* Seconds to migrate `bytes` from node `src` to node `dst` in pages of `page_bytes` (a power
 * of two; 4096 or 2 MiB for move_pages). */
TIER_API tier_status tier_cost_migration(const tier_cost_model *model, int src, int dst,
                                         uint64_t bytes, uint64_t page_bytes, double *seconds);

/* The loaded-latency factor L(u)/L0 of node `node`'s curve at utilisation `u`. */
TIER_API tier_status tier_cost_latency_factor(const tier_cost_model *model, int node, double u,
                                              double *factor);

#ifdef __cplusplus
}
#endif

#endif /* TIER_EMULATION_H */
