// runtime_api.cpp - the C ABI for runtimes: create/destroy, the default runtime, node queries,
// capacity control and statistics.
//
// Thread-safety: all calls are thread-safe except that tier_runtime_destroy must not race
// with other calls on the same runtime (as tier.h states for its memory).
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "alloc/abi.hpp"
#include "alloc/upper_hooks.hpp"
#include "alloc/arena.hpp"
#include "alloc/chunks.hpp"
#include "alloc/class_map.hpp"
#include "alloc/fork.hpp"
#include "alloc/magazine.hpp"
#include "alloc/placement.hpp"
#include "alloc/runtime.hpp"

using namespace tier;
using namespace tier::alloc;

namespace {

constexpr uint32_t kKnownRuntimeFlags = TIER_RUNTIME_NO_HUGEPAGE | TIER_RUNTIME_SHARED_ARENA;
std::atomic<uint32_t> g_next_generation{1};
std::atomic<tier_runtime *> g_default{nullptr};

Result<tier_runtime *> create_runtime(const tier_runtime_options *options) {
  tier_runtime_options defaults = TIER_RUNTIME_OPTIONS_INIT;
  const tier_runtime_options *o = options ? options : &defaults;
  if (o->size != sizeof(tier_runtime_options)) {
    return make_error(TIER_EINVAL, "tier_runtime_options.size = " + std::to_string(o->size) +
                                       ", expected " +
                                       std::to_string(sizeof(tier_runtime_options)) +
                                       " (use TIER_RUNTIME_OPTIONS_INIT)");
  }
  if (o->flags & ~kKnownRuntimeFlags) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "tier_runtime_options.flags = 0x%x: unknown bits", o->flags);
    return make_error(TIER_EINVAL, buf);
  }
  if (Status st = init_allocator_once(); !st) return std::move(st).error();
  if (auto pm = PageMap::instance(); !pm) return std::move(pm).error();
  // Optional: without it tier_free asks jemalloc for each block's size (class_map.hpp).
  ClassMap::instance();

  auto topo = resolve_topology(o->topology);
  if (!topo) return std::move(topo).error();
  if (topo->nodes.empty()) {
    return make_error(TIER_ETOPOLOGY, "topology from " + topo->source + " has no nodes");
  }
  if (topo->nodes.size() > 255) {
    return make_error(TIER_ETOPOLOGY, "topology from " + topo->source + " has " +
                                          std::to_string(topo->nodes.size()) +
                                          " nodes; Tier supports at most 255");
  }

  auto rt = std::make_unique<tier_runtime>();
  rt->generation = g_next_generation.fetch_add(1, std::memory_order_relaxed);
  rt->flags = o->flags;
  rt->topology = std::move(*topo);
  rt->source = rt->topology.source;
  rt->nnodes = static_cast<int>(rt->topology.nodes.size());
  rt->nodes = std::make_unique<NodeState[]>(rt->nnodes);
  for (int i = 0; i < rt->nnodes; ++i) {
    NodeState &ns = rt->nodes[i];
    ns.node = rt->topology.nodes[i];
    ns.slot = i;
    ns.capacity.store(ns.node.capacity);
  }
  auto def = get_placement(rt.get(), nullptr);
  if (!def) return std::move(def).error().context("creating the default placement");
  rt->default_placement = *def;
  track_runtime(rt.get());
  return rt.release();
}

void destroy_runtime(tier_runtime *rt) {
  untrack_runtime(rt);
  // The calling thread's magazines would otherwise outlive the runtime until thread exit
  // (never, on the main thread); their blocks go with the runtime's memory.
  for (const auto &entry : rt->placements) magazine_drop(entry.second->gid);
  forget_placements(rt);
  teardown_chunks(rt);
  delete rt;
}

Status check_runtime(const tier_runtime *rt, const char *call) {
  if (rt == nullptr) return make_error(TIER_EINVAL, std::string(call) + ": runtime is NULL");
  return {};
}

uint64_t clamp(int64_t v) {
  return v > 0 ? static_cast<uint64_t>(v) : 0;
}

void fill_stats(tier_runtime *rt, int slot, uint64_t resident, tier_node_stats *out) {
  const NodeState &ns = rt->nodes[slot];
  out->node = ns.node.id;
  out->tier = ns.node.tier;
  out->capacity = ns.capacity.load(std::memory_order_relaxed);
  out->allocated = clamp(ns.allocated.bytes());
  out->reserved = ns.reserved.load(std::memory_order_relaxed);
  out->resident = resident;
  out->peak = ns.peak.load(std::memory_order_relaxed);
  out->allocations = clamp(ns.allocated.count());
  out->fallbacks = ns.fallbacks.load(std::memory_order_relaxed);
}

Status check_stats_out(tier_node_stats *out, const char *call) {
  if (out == nullptr) return make_error(TIER_EINVAL, std::string(call) + ": out is NULL");
  if (out->size != sizeof(tier_node_stats)) {
    return make_error(TIER_EINVAL, std::string(call) +
                                       ": out->size = " + std::to_string(out->size) +
                                       ", expected " + std::to_string(sizeof(tier_node_stats)));
  }
  return {};
}

tier_status node_info(const tier_runtime *rt, int slot, tier_node_info *info) {
  if (info->size != sizeof(tier_node_info)) {
    return set_last_error(
        make_error(TIER_EINVAL, "tier_node_info.size = " + std::to_string(info->size) +
                                    ", expected " + std::to_string(sizeof(tier_node_info))));
  }
  const NodeState &ns = rt->nodes[slot];
  uint64_t used = ns.reserved.load(std::memory_order_relaxed);
  to_node_info(ns.node, used, info);
  // The enforced capacity may have changed since discovery (tier_node_set_capacity).
  info->capacity = ns.capacity.load(std::memory_order_relaxed);
  if (ns.node.emulated) info->free = info->capacity > used ? info->capacity - used : 0;
  return TIER_OK;
}

}  // namespace

extern "C" {

tier_status tier_runtime_create(const tier_runtime_options *options, tier_runtime **out) {
  return guarded("tier_runtime_create", TIER_ENOMEM, [&] {
    if (out == nullptr) {
      return set_last_error(make_error(TIER_EINVAL, "tier_runtime_create: out is NULL"));
    }
    *out = nullptr;
    auto rt = create_runtime(options);
    if (!rt) return set_last_error(rt.error());
    *out = *rt;
    return TIER_OK;
  });
}

void tier_runtime_destroy(tier_runtime *runtime) {
  if (runtime == nullptr) return;
  guarded("tier_runtime_destroy", 0, [&] {
    // The default runtime lives for the whole process; destroying it would leave a dangling
    // handle in every caller of tier_default_runtime.
    if (runtime == g_default.load(std::memory_order_acquire)) return 0;
    tier::alloc::notify_runtime_destroy(runtime);  // stops its agent before the memory goes
    destroy_runtime(runtime);
    return 0;
  });
}

tier_runtime *tier_default_runtime(void) {
  if (tier_runtime *rt = g_default.load(std::memory_order_acquire)) return rt;
  return guarded("tier_default_runtime", static_cast<tier_runtime *>(nullptr), [] {
    std::lock_guard<std::mutex> lock(default_runtime_mutex());
    if (tier_runtime *rt = g_default.load(std::memory_order_acquire)) return rt;
    auto rt = create_runtime(nullptr);
    if (!rt) {
      // Not cached: a later call may succeed (e.g. after TIER_TOPOLOGY is fixed).
      set_last_error(std::move(rt).error().context("creating the default runtime"));
      return static_cast<tier_runtime *>(nullptr);
    }
    g_default.store(*rt, std::memory_order_release);
    return *rt;
  });
}

int tier_node_count(const tier_runtime *runtime) {
  return runtime ? runtime->nnodes : 0;
}

tier_status tier_node_at(const tier_runtime *runtime, int index, tier_node_info *info) {
  if (Status st = check_runtime(runtime, "tier_node_at"); !st) return set_last_error(st.error());
  if (info == nullptr) return set_last_error(TIER_EINVAL, "tier_node_at: info is NULL");
  if (index < 0 || index >= runtime->nnodes) {
    return set_last_error(make_error(TIER_ENODEV, "tier_node_at: index " + std::to_string(index) +
                                                      " out of range 0.." +
                                                      std::to_string(runtime->nnodes - 1)));
  }
  return node_info(runtime, index, info);
}

tier_status tier_node_get(const tier_runtime *runtime, int id, tier_node_info *info) {
  if (Status st = check_runtime(runtime, "tier_node_get"); !st) return set_last_error(st.error());
  if (info == nullptr) return set_last_error(TIER_EINVAL, "tier_node_get: info is NULL");
  int slot = runtime->slot_of(id);
  if (slot < 0) {
    return set_last_error(make_error(TIER_ENODEV, "tier_node_get: no node " + std::to_string(id)));
  }
  return node_info(runtime, slot, info);
}

int tier_tier_count(const tier_runtime *runtime) {
  return runtime ? runtime->topology.tier_count() : 0;
}

int tier_topology_emulated(const tier_runtime *runtime) {
  return runtime && runtime->topology.emulated ? 1 : 0;
}

const char *tier_topology_source(const tier_runtime *runtime) {
  return runtime ? runtime->source.c_str() : "";
}

tier_status tier_node_set_capacity(tier_runtime *runtime, int node, uint64_t capacity) {
  return guarded("tier_node_set_capacity", TIER_ENOMEM, [&] {
    if (Status st = check_runtime(runtime, "tier_node_set_capacity"); !st)
      return set_last_error(st.error());
    int slot = runtime->slot_of(node);
    if (slot < 0) {
      return set_last_error(
          make_error(TIER_ENODEV, "tier_node_set_capacity: no node " + std::to_string(node)));
    }
    NodeState &ns = runtime->nodes[slot];
    ns.capacity.store(capacity, std::memory_order_relaxed);
    // Cached runs are the only reserved memory that can be given back without losing data.
    if (ns.reserved.load(std::memory_order_relaxed) > capacity) evict_cache(runtime, slot);
    return TIER_OK;
  });
}

tier_status tier_node_stats_get(tier_runtime *runtime, int node, tier_node_stats *out) {
  return guarded("tier_node_stats_get", TIER_ENOMEM, [&] {
    if (Status st = check_runtime(runtime, "tier_node_stats_get"); !st)
      return set_last_error(st.error());
    if (Status st = check_stats_out(out, "tier_node_stats_get"); !st)
      return set_last_error(st.error());
    int slot = runtime->slot_of(node);
    if (slot < 0) {
      return set_last_error(
          make_error(TIER_ENODEV, "tier_node_stats_get: no node " + std::to_string(node)));
    }
    std::vector<uint64_t> resident(runtime->nnodes);
    if (Status st = resident_by_slot(runtime, resident.data()); !st)
      return set_last_error(st.error());
    fill_stats(runtime, slot, resident[slot], out);
    return TIER_OK;
  });
}

tier_status tier_tier_stats_get(tier_runtime *runtime, int tier, tier_node_stats *out) {
  return guarded("tier_tier_stats_get", TIER_ENOMEM, [&] {
    if (Status st = check_runtime(runtime, "tier_tier_stats_get"); !st)
      return set_last_error(st.error());
    if (Status st = check_stats_out(out, "tier_tier_stats_get"); !st)
      return set_last_error(st.error());
    int tiers = runtime->topology.tier_count();
    if (tier < 0 || tier >= tiers) {
      return set_last_error(make_error(TIER_ENODEV, "tier_tier_stats_get: tier " +
                                                        std::to_string(tier) + " out of range 0.." +
                                                        std::to_string(tiers - 1)));
    }
    std::vector<uint64_t> resident(runtime->nnodes);
    if (Status st = resident_by_slot(runtime, resident.data()); !st)
      return set_last_error(st.error());
    tier_node_stats sum{};
    sum.size = sizeof sum;
    for (int s = 0; s < runtime->nnodes; ++s) {
      if (runtime->nodes[s].node.tier != tier) continue;
      tier_node_stats one{};
      one.size = sizeof one;
      fill_stats(runtime, s, resident[s], &one);
      sum.capacity += one.capacity;
      sum.allocated += one.allocated;
      sum.reserved += one.reserved;
      sum.resident += one.resident;
      sum.peak += one.peak;  // sum of per-node peaks: an upper bound of the tier's peak
      sum.allocations += one.allocations;
      sum.fallbacks += one.fallbacks;
    }
    sum.node = -1;
    sum.tier = tier;
    *out = sum;
    return TIER_OK;
  });
}

}  // extern "C"
