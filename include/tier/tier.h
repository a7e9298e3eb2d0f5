/*
 * tier.h - the stable C ABI of libtier, the tiered memory runtime.
 *
 * Conventions, written once for the whole API:
 *  - Functions that can fail return a tier_status (TIER_OK == 0, errors < 0), or, for the
 *    malloc-shaped calls, NULL. In both cases the calling thread's last error is set:
 *    tier_last_status() gives the code, tier_last_error() a message naming what was wrong
 *    and where, tier_last_errno() the OS errno behind it (0 when there was none).
 *    A successful call does not clear the last error.
 *  - No function aborts the process, and no C++ exception crosses this boundary.
 *  - Structs passed in or out start with a `size` field set by the caller to
 *    sizeof(the struct) it was compiled with; this lets the library grow them without
 *    breaking old binaries. Use the *_INIT macros or the *_init() calls to fill them.
 *  - Node ids are OS NUMA node indexes on real topologies, and the declared ids of the
 *    topology file on emulated ones. Tiers are ranks: tier 0 is the fastest.
 *  - All functions are thread-safe unless stated otherwise.
 */
#ifndef TIER_TIER_H
#define TIER_TIER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TIER_API __attribute__((visibility("default")))
#else
#define TIER_API
#endif

#define TIER_VERSION_MAJOR 0
#define TIER_VERSION_MINOR 1
#define TIER_VERSION_PATCH 0

/* ---- Status ---------------------------------------------------------------------------- */

typedef enum tier_status {
  TIER_OK = 0,
  TIER_EINVAL = -1,    /* an argument is invalid (policy, size, alignment, pointer, ...) */
  TIER_ENOMEM = -2,    /* no tier allowed by the policy has room */
  TIER_ENODEV = -3,    /* the node or tier named does not exist */
  TIER_ENOSYS = -4,    /* the kernel or machine lacks the feature */
  TIER_ETOPOLOGY = -5, /* topology discovery or a topology file failed */
  TIER_ECONFIG = -6,   /* a configuration value is invalid */
  TIER_EOS = -7,       /* a system call failed; tier_last_errno() holds errno */
  TIER_ENOTOWNED = -8, /* the pointer was not allocated by this runtime */
  TIER_EBUSY = -9,     /* the resource is in use (e.g. pages could not be moved now) */
  TIER_EPERM = -10,    /* the operation is not permitted to this caller */
  TIER_EPROTO = -11,   /* a peer sent a malformed or unexpected message */
} tier_status;

/* A static, human-readable name for the code ("invalid argument"). Never NULL. */
TIER_API const char *tier_strerror(tier_status status);
/* The calling thread's last error: code, message (never NULL; "" when none) and errno. */
TIER_API tier_status tier_last_status(void);
TIER_API const char *tier_last_error(void);
TIER_API int tier_last_errno(void);

/* "0.1.0" */
TIER_API const char *tier_version(void);

/* ---- Nodes and tiers ------------------------------------------------------------------- */

typedef enum tier_node_kind {
  TIER_KIND_UNKNOWN = 0,
  TIER_KIND_DRAM = 1,
  TIER_KIND_HBM = 2,
  TIER_KIND_CXL = 3,      /* a CXL memory expander (type 3, volatile) */
  TIER_KIND_CXL_POOL = 4, /* CXL memory behind a switch / shared pool */
} tier_node_kind;

/* Where a figure came from. */
typedef enum tier_source {
  TIER_SOURCE_NONE = 0,     /* unknown */
  TIER_SOURCE_HWLOC = 1,    /* hwloc memattrs (from ACPI HMAT) */
  TIER_SOURCE_SYSFS = 2,    /* /sys/devices/system/node/.../access0/initiators */
  TIER_SOURCE_FILE = 3,     /* a topology file */
  TIER_SOURCE_PRESET = 4,   /* a built-in emulation preset */
  TIER_SOURCE_DISTANCE = 5, /* derived from the NUMA distance matrix */
  TIER_SOURCE_DEFAULT = 6,  /* a documented default for the node's kind */
} tier_source;

#define TIER_NAME_MAX 64

typedef struct tier_node_info {
  size_t size; /* set by caller: sizeof(tier_node_info) */
  int id;      /* node id (OS index, or declared id when emulated) */
  int tier;    /* rank, 0 = fastest */
  tier_node_kind kind;
  int emulated;           /* 1 when the node is virtual (backed by `backing_node`) */
  int backing_node;       /* OS node whose memory backs this node (== id when real) */
  int cpuless;            /* 1 when no CPU is local to the node */
  uint64_t capacity;      /* bytes Tier may place on the node (the enforced limit) */
  uint64_t free;          /* bytes the OS reports free (real) or capacity - used (emulated) */
  uint64_t used;          /* bytes Tier has placed on the node */
  double read_latency_ns; /* 0 when unknown */
  double write_latency_ns;
  double read_bandwidth_mbps; /* MB/s, 0 when unknown */
  double write_bandwidth_mbps;
  tier_source latency_source;
  tier_source bandwidth_source;
  tier_source kind_source;
  char kind_reason[128];    /* why the kind was chosen, e.g. "HMAT latency 3.1x DRAM" */
  char name[TIER_NAME_MAX]; /* a label ("node0", or the topology file's name) */
} tier_node_info;

/* ---- Runtime --------------------------------------------------------------------------- */

typedef struct tier_runtime tier_runtime;

typedef struct tier_runtime_options {
  size_t size; /* sizeof(tier_runtime_options) */
  /* Topology: NULL = environment TIER_TOPOLOGY, else discovery (and the `default` emulation
   * preset when the machine has a single node); otherwise a path to a TOML topology file,
   * or the name of a preset ("default", "xeon-max-flat", "gh200", "dram-2cxl",
   * "cxl-switched-pool"), or "machine" to force discovery without emulation. */
  const char *topology;
  uint32_t flags; /* TIER_RUNTIME_* */
} tier_runtime_options;

/* Do not use transparent huge pages for large chunks (they are advised by default). */
#define TIER_RUNTIME_NO_HUGEPAGE 0x1u
/* Serve each placement's small sizes from one arena shared by all threads. By default the
 * threads of a placement are spread over up to min(CPUs, 8) arenas, which scales better but
 * holds runs of its own (2 MiB and up) for each arena in use on the placement's tier. */
#define TIER_RUNTIME_SHARED_ARENA 0x2u
#define TIER_RUNTIME_OPTIONS_INIT \
  { sizeof(tier_runtime_options), NULL, 0u }

TIER_API tier_status tier_runtime_create(const tier_runtime_options *options, tier_runtime **out);
/* Frees the runtime's bookkeeping. Memory still allocated from it stays mapped and
 * readable, but must not be passed to tier_free afterwards. */
TIER_API void tier_runtime_destroy(tier_runtime *runtime);
/* A process-wide runtime created on first use with default options (NULL on failure). */
TIER_API tier_runtime *tier_default_runtime(void);

TIER_API int tier_node_count(const tier_runtime *runtime);
/* Fills `info` for the node at position `index` (0 .. tier_node_count-1, in tier order). */
TIER_API tier_status tier_node_at(const tier_runtime *runtime, int index, tier_node_info *info);
/* Fills `info` for node `id`. TIER_ENODEV when there is no such node. */
TIER_API tier_status tier_node_get(const tier_runtime *runtime, int id, tier_node_info *info);
TIER_API int tier_tier_count(const tier_runtime *runtime);
/* 1 when the runtime's topology is emulated (virtual nodes), else 0. */
TIER_API int tier_topology_emulated(const tier_runtime *runtime);
/* A short description of where the topology came from ("hwloc", "preset default", a path). */
TIER_API const char *tier_topology_source(const tier_runtime *runtime);

/* ---- Placement policies ---------------------------------------------------------------- */

typedef enum tier_mode {
  TIER_MODE_PREFERRED = 0,           /* the targets first, then down the tier ranking (default) */
  TIER_MODE_BIND = 1,                /* only the targets; TIER_ENOMEM when they are full */
  TIER_MODE_PREFERRED_MANY = 2,      /* any of the targets, then down the ranking */
  TIER_MODE_INTERLEAVE = 3,          /* pages spread round-robin over the targets */
  TIER_MODE_WEIGHTED_INTERLEAVE = 4, /* pages spread over the targets by weight */
} tier_mode;

typedef enum tier_select {
  TIER_SELECT_NODES = 0,             /* the nodes listed in `nodes` */
  TIER_SELECT_TIER = 1,              /* every node of tier `tier` */
  TIER_SELECT_FASTEST = 2,           /* the nodes of tier 0 */
  TIER_SELECT_LARGEST = 3,           /* the node with the most capacity */
  TIER_SELECT_LOWEST_LATENCY = 4,    /* the node with the lowest read latency */
  TIER_SELECT_HIGHEST_BANDWIDTH = 5, /* the node with the highest read bandwidth */
  TIER_SELECT_KIND = 6,              /* every node of kind `kind` */
} tier_select;

#define TIER_POLICY_MAX_NODES 16

typedef struct tier_policy {
  size_t size; /* sizeof(tier_policy) */
  tier_mode mode;
  tier_select select;
  int tier;            /* for TIER_SELECT_TIER */
  tier_node_kind kind; /* for TIER_SELECT_KIND */
  int nnodes;          /* for TIER_SELECT_NODES: entries used in nodes[] (and weights[]) */
  int nodes[TIER_POLICY_MAX_NODES];
  /* For TIER_MODE_WEIGHTED_INTERLEAVE: weight per entry of nodes[] (1..255). With a
   * selector other than NODES, every selected node gets weight 1. */
  uint8_t weights[TIER_POLICY_MAX_NODES];
  uint32_t flags; /* TIER_POLICY_* */
} tier_policy;

/* Advise transparent huge pages for large allocations under this policy (default on). */
#define TIER_POLICY_NO_HUGEPAGE 0x1u

/* Preferred placement on the fastest tier, falling back down the ranking. */
#define TIER_POLICY_INIT                                                                         \
  {                                                                                              \
    sizeof(tier_policy), TIER_MODE_PREFERRED, TIER_SELECT_FASTEST, 0, TIER_KIND_UNKNOWN, 0, {0}, \
        {0}, 0u                                                                                  \
  }

TIER_API void tier_policy_init(tier_policy *policy);
/* Parses a policy string into `policy`. Grammar (docs/api.md):
 *   policy  := mode [ '=' targets ]        e.g. "preferred=fastest", "bind=tier:1",
 *   mode    := preferred | bind | preferred-many | interleave | weighted
 *   targets := target { ',' target }       e.g. "interleave=dram,cxl", "weighted=0:3,2:1"
 *   target  := fastest | largest | lowest-latency | highest-bandwidth
 *            | tier:N | kind | NODE [ ':' WEIGHT ]      (kind: hbm, dram, cxl, cxl-pool)
 * A kind or tier may carry a weight too ("weighted=dram:3,cxl:1"), which expands to its nodes.
 * Needs the runtime to expand kinds and tiers into nodes when they are mixed with weights. */
TIER_API tier_status tier_policy_parse(const tier_runtime *runtime, const char *text,
                                       tier_policy *policy);
/* Writes the policy as text (the grammar above) into buf; returns its length or < 0. */
TIER_API int tier_policy_format(const tier_policy *policy, char *buf, size_t len);

/* ---- Allocation ------------------------------------------------------------------------ */

/* An interned, resolved policy: a cheap handle for the fast path. Owned by the runtime, valid
 * until it is destroyed; asking twice for an equal policy gives the same handle. */
typedef struct tier_placement tier_placement;

TIER_API tier_placement *tier_placement_get(tier_runtime *runtime, const tier_policy *policy);

/* Allocate `size` bytes under `policy` (NULL = TIER_POLICY_INIT). NULL on failure, with the
 * last error set (TIER_ENOMEM when no allowed tier has room, TIER_EINVAL for bad input).
 * tier_malloc(rt, 0, p) returns a unique pointer that can be freed. */
TIER_API void *tier_malloc(tier_runtime *runtime, size_t size, const tier_policy *policy);
TIER_API void *tier_calloc(tier_runtime *runtime, size_t count, size_t size,
                           const tier_policy *policy);
/* `alignment` must be a power of two; up to the huge page size (2 MiB) is honoured. */
TIER_API void *tier_aligned_alloc(tier_runtime *runtime, size_t alignment, size_t size,
                                  const tier_policy *policy);
/* The same with an interned placement (the fast path). */
TIER_API void *tier_malloc_p(tier_runtime *runtime, size_t size, tier_placement *placement);
TIER_API void *tier_aligned_alloc_p(tier_runtime *runtime, size_t alignment, size_t size,
                                    tier_placement *placement);
/* Resize, keeping the contents; the block keeps its policy. realloc(NULL) allocates under the
 * default policy; on failure the old block is untouched and NULL is returned. */
TIER_API void *tier_realloc(tier_runtime *runtime, void *ptr, size_t size);
/* Resize and re-place under `policy` (the data is kept when it crosses tiers). */
TIER_API void *tier_realloc_policy(tier_runtime *runtime, void *ptr, size_t size,
                                   const tier_policy *policy);
/* Free. NULL is ignored. A pointer Tier does not own is left alone and reported as
 * TIER_ENOTOWNED through the return value and last error. */
TIER_API tier_status tier_free(tier_runtime *runtime, void *ptr);
/* Usable size of an allocation (0 and TIER_ENOTOWNED when not owned). */
TIER_API size_t tier_usable_size(tier_runtime *runtime, const void *ptr);
/* 1 when `ptr` lies in memory managed by this runtime (O(1), lock-free), else 0. */
TIER_API int tier_owns(const tier_runtime *runtime, const void *ptr);

/* ---- Where memory is ------------------------------------------------------------------- */

typedef struct tier_where_entry {
  int node;       /* node id (virtual id on emulated topologies) */
  uint64_t bytes; /* bytes of the range resident there */
} tier_where_entry;

typedef struct tier_where_result {
  size_t size;  /* sizeof(tier_where_result) */
  int nentries; /* used entries of entries[] */
  tier_where_entry entries[64];
  uint64_t not_resident; /* bytes never touched (no page yet) */
  uint64_t unknown;      /* bytes whose node could not be read */
} tier_where_result;

/* Reports where the pages of [ptr, ptr+len) are, bytes per node, with a move_pages(2) query
 * (and the recorded placement for emulated nodes). Any readable range works, not only
 * Tier's own allocations. */
TIER_API tier_status tier_where(tier_runtime *runtime, const void *ptr, size_t len,
                                tier_where_result *out);

/* ---- Statistics ------------------------------------------------------------------------ */

typedef struct tier_node_stats {
  size_t size; /* sizeof(tier_node_stats) */
  int node;
  int tier;
  uint64_t capacity;    /* enforced limit */
  uint64_t allocated;   /* bytes handed out to callers and not freed */
  uint64_t reserved;    /* bytes Tier holds on the node (allocated + caches + slack) */
  uint64_t resident;    /* bytes of Tier's memory the kernel reports resident on the node */
  uint64_t peak;        /* highest `reserved` seen */
  uint64_t allocations; /* number of live allocations */
  uint64_t fallbacks;   /* allocations that wanted this node but went further down */
} tier_node_stats;

TIER_API tier_status tier_node_stats_get(tier_runtime *runtime, int node, tier_node_stats *out);
/* Sum over the nodes of one tier (`node` is set to -1). */
TIER_API tier_status tier_tier_stats_get(tier_runtime *runtime, int tier, tier_node_stats *out);

/* ---- Capacity control ------------------------------------------------------------------ */

/* Sets the enforced capacity of a node (bytes). Lowering it below what is reserved refuses
 * new placements there until usage drops; nothing is freed or lost. */
TIER_API tier_status tier_node_set_capacity(tier_runtime *runtime, int node, uint64_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* TIER_TIER_H */
