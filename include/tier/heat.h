/*
 * heat.h - access heat and migration: regions, touches, pins, the placement policy, epochs and
 * the in-process agent.
 *
 * The conventions of tier.h apply (tier_status returns, the thread's last error, size-first
 * structs, thread-safe unless stated). In short:
 *  1. Register the memory whose placement Tier should manage (tier_region_register). On
 *     emulated topologies only memory allocated by the runtime (large allocations, whole
 *     2 MiB chunks) can be moved; on real NUMA nodes any of the process's memory can.
 *  2. Report accesses you know about (tier_touch): a KV block a decode step read, an expert the
 *     router picked. It is a few relaxed atomic adds; call it on the hot path.
 *  3. Either run epochs yourself (tier_epoch, for tests and replays), or start the agent thread
 *     (tier_agent_start), which runs one every period: heat is decayed into temperatures, the
 *     policy plans moves under a byte budget, and a mover carries them out.
 * Memory that is being moved stays readable; a thread writing it waits until the move is done
 * (see docs/migration.md). Unregister a region before freeing its memory.
 */
#ifndef TIER_HEAT_H
#define TIER_HEAT_H

#include "tier/tier.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Regions --------------------------------------------------------------------------- */

/* Flags of tier_region_register. */
#define TIER_REGION_PINNED 0x1u /* its chunks start pinned: never moved until tier_unpin */
/* Heat from sampled protection faults, for memory whose accesses the program does not report:
 * each epoch a few random pages are made inaccessible and the first access to one counts.
 * Opt-in because a system call that reads or writes such a page (read(2) into it) fails with
 * EFAULT instead of faulting; see docs/migration.md. One sampling runtime per process. */
#define TIER_REGION_SAMPLE_FAULTS 0x2u

/* group_hint of tier_region_register: */
#define TIER_GROUP_NONE 0         /* every chunk moves on its own */
#define TIER_GROUP_WHOLE SIZE_MAX /* the whole region is one object and moves as one */
/* any other value: the region is a sequence of objects of `group_hint` bytes each (rounded up
 * to whole chunks), each moved as one. */

/* Registers [ptr, ptr+len) with the runtime's chunk table (2 MiB chunks). Its chunks start on
 * the node they are on now. `region_id` receives the id to unregister with.
 * TIER_EINVAL: NULL or empty range, bad flags; TIER_EBUSY: part of the range is registered
 * already; TIER_ENOMEM: the chunk table is full. */
TIER_API tier_status tier_region_register(tier_runtime *runtime, const void *ptr, size_t len,
                                          size_t group_hint, uint32_t flags, uint32_t *region_id);
/* Forgets a region (waits for an epoch in progress to finish first, so its memory may be freed
 * as soon as this returns). TIER_EINVAL for an unknown id. */
TIER_API tier_status tier_region_unregister(tier_runtime *runtime, uint32_t region_id);

/* ---- Heat ------------------------------------------------------------------------------ */

/* Credits `reads` and `writes` accesses to every chunk [ptr, ptr+len) overlaps. Untracked
 * memory is ignored; never fails; lock-free (a few ns per chunk). */
TIER_API void tier_touch(tier_runtime *runtime, const void *ptr, size_t len, uint32_t reads,
                         uint32_t writes);
/* Pins (never moved) or unpins the chunks of [ptr, ptr+len). Counted: n pins need n unpins.
 * TIER_EINVAL for NULL or an empty range. Untracked chunks are ignored. */
TIER_API tier_status tier_pin(tier_runtime *runtime, const void *ptr, size_t len);
TIER_API tier_status tier_unpin(tier_runtime *runtime, const void *ptr, size_t len);

/* ---- Policy and epochs ----------------------------------------------------------------- */

/* Chooses the placement policy by name: "heat" (default), "first-touch", "lru", "lfu", "tpp".
 * TIER_EINVAL (listing the known names) otherwise. Takes effect at the next epoch. */
TIER_API tier_status tier_set_policy(tier_runtime *runtime, const char *name);

typedef struct tier_epoch_stats {
  size_t size;            /* sizeof(tier_epoch_stats) */
  uint64_t epoch;         /* number of this epoch (1, 2, ...) */
  uint64_t chunks;        /* chunks seen */
  uint64_t active_chunks; /* chunks accessed during the epoch */
  uint64_t accesses;      /* reads + writes credited during the epoch */
  uint64_t moves_planned; /* chunk moves the policy planned */
  uint64_t moves_done;    /* of which were carried out (wholly or partly) */
  uint64_t promotions;    /* chunks moved to a faster tier */
  uint64_t demotions;     /* chunks moved to a slower tier */
  uint64_t bytes_moved;
  uint64_t pages_failed;       /* pages that could not be moved (after retries) */
  uint64_t moves_refused;      /* moves refused for lack of room on the target */
  uint64_t epoch_ns;           /* wall time of the epoch, mover included */
  uint64_t plan_ns;            /* of which the policy took */
  double modelled_migration_s; /* emulated: what the moves would have cost on the devices */
} tier_epoch_stats;

/* Runs one epoch now, on the calling thread (the agent's epochs are serialised with it).
 * `stats` may be NULL. TIER_EINVAL for a bad struct size. */
TIER_API tier_status tier_epoch(tier_runtime *runtime, tier_epoch_stats *stats);

/* ---- The in-process agent -------------------------------------------------------------- */

typedef struct tier_agent_options {
  size_t size;                     /* sizeof(tier_agent_options) */
  uint32_t period_ms;              /* time between epochs (default 100; 1 .. 3600000) */
  uint64_t budget_bytes_per_epoch; /* migration byte budget of one epoch (default 256 MiB) */
  double half_life_epochs;         /* heat half-life (default 4; > 0) */
  uint64_t rate_bytes_per_second;  /* byte-rate limit of the mover (default 0 = unlimited) */
  double low_watermark;            /* fraction of a node's capacity kept free: below it the node
                                      is under pressure (default 0.02) */
  double high_watermark;           /* ... and demotes until this fraction is free; also the
                                      headroom promotions leave (default 0.05) */
  uint32_t flags;                  /* reserved, 0 */
} tier_agent_options;

#define TIER_AGENT_OPTIONS_INIT \
  { sizeof(tier_agent_options), 100u, 256ull << 20, 4.0, 0ull, 0.02, 0.05, 0u }

TIER_API void tier_agent_options_init(tier_agent_options *options);

/* Starts the agent thread with `options` (NULL = defaults), which then also apply to
 * tier_epoch. TIER_EBUSY when it already runs; TIER_ECONFIG naming a bad field. */
TIER_API tier_status tier_agent_start(tier_runtime *runtime, const tier_agent_options *options);
/* Stops the agent thread after its current epoch (no-op when it is not running). */
TIER_API tier_status tier_agent_stop(tier_runtime *runtime);

typedef struct tier_agent_stats {
  size_t size;         /* sizeof(tier_agent_stats) */
  int running;         /* 1 while the agent thread runs */
  uint64_t epochs;     /* epochs run (agent and tier_epoch) */
  uint64_t promotions; /* chunks moved to a faster tier, in total */
  uint64_t demotions;
  uint64_t bytes_moved;
  uint64_t pages_failed;
  uint64_t moves_refused;
  uint64_t last_epoch_ns; /* wall time of the last epoch */
  uint64_t max_epoch_ns;
  uint64_t total_epoch_ns;
  uint64_t regions; /* registered regions now */
  uint64_t chunks;  /* tracked chunks now */
  double modelled_migration_s;
  uint64_t sampled_faults; /* accesses seen by the fault sampler (TIER_REGION_SAMPLE_FAULTS) */
  char policy[32];         /* the policy in force */
  char mover[32];          /* "emulated" or "numa" */
} tier_agent_stats;

/* Fills `stats`. TIER_EINVAL for NULL or a bad size. */
TIER_API tier_status tier_agent_stats_get(tier_runtime *runtime, tier_agent_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* TIER_HEAT_H */
