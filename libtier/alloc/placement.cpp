// placement.cpp - validating a tier_policy, resolving it to an ordered node list, interning it.
//
// Resolution rule: the selector picks the targets (in tier order); every mode except BIND then
// appends the remaining nodes in tier order as the fallback path. Two policies that resolve to
// the same (mode, flags, targets, weights, order) share one placement and one arena.
// Thread-safety: get_placement takes the runtime's placement mutex (an outer lock: arena
// creation calls into jemalloc while holding it); resolution itself is pure.
#include "alloc/placement.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>

#include "alloc/arena.hpp"
#include "prim/os.hpp"

namespace tier::alloc {
namespace {

constexpr uint32_t kKnownPolicyFlags = TIER_POLICY_NO_HUGEPAGE;
std::atomic<uint32_t> g_next_gid{1};
std::atomic<tier_placement *> g_by_gid[kMaxPlacements];

const char *mode_field_name(int mode) {
  switch (mode) {
    case TIER_MODE_PREFERRED:
      return "preferred";
    case TIER_MODE_BIND:
      return "bind";
    case TIER_MODE_PREFERRED_MANY:
      return "preferred-many";
    case TIER_MODE_INTERLEAVE:
      return "interleave";
    case TIER_MODE_WEIGHTED_INTERLEAVE:
      return "weighted";
  }
  return "?";
}

struct Resolved {
  std::vector<int> targets;  // slots
  std::vector<uint32_t> weights;
};

Result<Resolved> resolve_targets(const tier_runtime *rt, const tier_policy *p) {
  Resolved r;
  auto all = [&](auto pred) {
    for (int s = 0; s < rt->nnodes; ++s)
      if (pred(rt->nodes[s].node)) r.targets.push_back(s);
  };
  switch (p->select) {
    case TIER_SELECT_NODES:
      for (int i = 0; i < p->nnodes; ++i) {
        int slot = rt->slot_of(p->nodes[i]);
        if (slot < 0) {
          return make_error(TIER_ENODEV, "policy.nodes[" + std::to_string(i) +
                                             "] = " + std::to_string(p->nodes[i]) +
                                             ": no such node in this topology");
        }
        r.targets.push_back(slot);
        r.weights.push_back(p->mode == TIER_MODE_WEIGHTED_INTERLEAVE ? p->weights[i] : 1);
      }
      return r;
    case TIER_SELECT_TIER:
      all([&](const Node &n) { return n.tier == p->tier; });
      break;
    case TIER_SELECT_FASTEST:
      all([&](const Node &n) { return n.tier == rt->nodes[0].node.tier; });
      break;
    case TIER_SELECT_KIND:
      all([&](const Node &n) { return n.kind == p->kind; });
      if (r.targets.empty()) {
        return make_error(TIER_ENODEV, std::string("policy.kind = ") + kind_name(p->kind) +
                                           ": no node of that kind in this topology");
      }
      break;
    case TIER_SELECT_LARGEST: {
      int best = 0;
      for (int s = 1; s < rt->nnodes; ++s)
        if (rt->nodes[s].capacity.load() > rt->nodes[best].capacity.load()) best = s;
      r.targets.push_back(best);
      break;
    }
    case TIER_SELECT_LOWEST_LATENCY: {
      // Unknown latencies lose; with none known, the ranking (fastest first) decides.
      int best = 0;
      double best_ns = 0;
      for (int s = 0; s < rt->nnodes; ++s) {
        double ns = rt->nodes[s].node.read_latency_ns.value;
        if (ns > 0 && (best_ns == 0 || ns < best_ns)) best = s, best_ns = ns;
      }
      r.targets.push_back(best);
      break;
    }
    case TIER_SELECT_HIGHEST_BANDWIDTH: {
      int best = 0;
      double best_bw = 0;
      for (int s = 0; s < rt->nnodes; ++s) {
        double bw = rt->nodes[s].node.read_bandwidth_mbps.value;
        if (bw > best_bw) best = s, best_bw = bw;
      }
      r.targets.push_back(best);
      break;
    }
  }
  r.weights.assign(r.targets.size(), 1);
  return r;
}

// The sysfs weight the kernel's weighted interleave gives `node` (0 when unreadable).
uint32_t kernel_weight(int node) {
  auto text = prim::read_small_file("/sys/kernel/mm/mempolicy/weighted_interleave/node" +
                                    std::to_string(node));
  if (!text) return 0;
  return static_cast<uint32_t>(std::strtoul(text->c_str(), nullptr, 10));
}

// Whether the kernel can do this interleave itself: real nodes only, and for the weighted
// mode only when the system-wide weights (which Tier must not change) already have the
// policy's proportions.
int choose_kernel_mode(const tier_runtime *rt, const tier_placement &pl) {
  if (rt->topology.emulated || pl.ntargets < 2 || !pl.interleaved()) return -1;
  for (int i = 0; i < pl.ntargets; ++i)
    if (rt->nodes[pl.order[i]].node.emulated) return -1;
  if (pl.mode == TIER_MODE_INTERLEAVE) return prim::kMpolInterleave;
  if (!prim::kernel_supports_mode(prim::kMpolWeightedInterleave)) return -1;
  uint32_t w0 = kernel_weight(rt->nodes[pl.order[0]].node.id);
  if (w0 == 0) return -1;
  for (int i = 1; i < pl.ntargets; ++i) {
    uint32_t wi = kernel_weight(rt->nodes[pl.order[i]].node.id);
    if (uint64_t{wi} * pl.weights[0] != uint64_t{w0} * pl.weights[i]) return -1;
  }
  return prim::kMpolWeightedInterleave;
}

}  // namespace

Status validate_policy(const tier_runtime *rt, const tier_policy *p) {
  if (p->size != sizeof(tier_policy)) {
    return make_error(TIER_EINVAL, "policy.size = " + std::to_string(p->size) + ", expected " +
                                       std::to_string(sizeof(tier_policy)) +
                                       " (initialise it with TIER_POLICY_INIT)");
  }
  const int mode = raw_enum(p->mode), select = raw_enum(p->select);
  if (mode < TIER_MODE_PREFERRED || mode > TIER_MODE_WEIGHTED_INTERLEAVE) {
    return make_error(TIER_EINVAL,
                      "policy.mode = " + std::to_string(mode) + ": not a tier_mode (0..4)");
  }
  if (select < TIER_SELECT_NODES || select > TIER_SELECT_KIND) {
    return make_error(TIER_EINVAL,
                      "policy.select = " + std::to_string(select) + ": not a tier_select (0..6)");
  }
  if (p->flags & ~kKnownPolicyFlags) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "policy.flags = 0x%x: unknown bits", p->flags);
    return make_error(TIER_EINVAL, buf);
  }
  if (p->select == TIER_SELECT_TIER) {
    int tiers = rt->topology.tier_count();
    if (p->tier < 0 || p->tier >= tiers) {
      return make_error(TIER_ENODEV, "policy.tier = " + std::to_string(p->tier) +
                                         ": this topology has tiers 0.." +
                                         std::to_string(tiers - 1));
    }
  }
  if (p->select == TIER_SELECT_KIND &&
      (raw_enum(p->kind) < TIER_KIND_UNKNOWN || raw_enum(p->kind) > TIER_KIND_CXL_POOL)) {
    return make_error(TIER_EINVAL, "policy.kind = " + std::to_string(raw_enum(p->kind)) +
                                       ": not a tier_node_kind");
  }
  if (p->select == TIER_SELECT_NODES) {
    if (p->nnodes < 1 || p->nnodes > TIER_POLICY_MAX_NODES) {
      return make_error(TIER_EINVAL, "policy.nnodes = " + std::to_string(p->nnodes) +
                                         ": must be 1.." + std::to_string(TIER_POLICY_MAX_NODES) +
                                         " with TIER_SELECT_NODES");
    }
    for (int i = 0; i < p->nnodes; ++i) {
      for (int j = 0; j < i; ++j) {
        if (p->nodes[j] == p->nodes[i]) {
          return make_error(TIER_EINVAL, "policy.nodes[" + std::to_string(i) +
                                             "] = " + std::to_string(p->nodes[i]) +
                                             ": listed twice (also nodes[" + std::to_string(j) +
                                             "])");
        }
      }
      if (p->mode == TIER_MODE_WEIGHTED_INTERLEAVE && p->weights[i] == 0) {
        return make_error(TIER_EINVAL,
                          "policy.weights[" + std::to_string(i) + "] = 0: weights must be 1..255");
      }
    }
  }
  return {};
}

Result<std::vector<int>> target_node_ids(const tier_runtime *rt, const tier_policy *policy) {
  auto r = resolve_targets(rt, policy);
  if (!r) return std::move(r).error();
  std::vector<int> ids;
  for (int slot : r->targets) ids.push_back(rt->nodes[slot].node.id);
  return ids;
}

Result<tier_placement *> get_placement(tier_runtime *rt, const tier_policy *policy) {
  tier_policy defaults = TIER_POLICY_INIT;
  const tier_policy *p = policy ? policy : &defaults;
  if (Status st = validate_policy(rt, p); !st) return std::move(st).error();
  auto resolved = resolve_targets(rt, p);
  if (!resolved) return std::move(resolved).error();

  auto pl = std::make_unique<tier_placement>();
  pl->runtime = rt;
  pl->mode = p->mode;
  pl->flags = p->flags;
  pl->hugepage = !(p->flags & TIER_POLICY_NO_HUGEPAGE) && !(rt->flags & TIER_RUNTIME_NO_HUGEPAGE);
  // Targets in the order given for NODES (the caller's preference), tier order otherwise.
  pl->order = resolved->targets;
  pl->weights = resolved->weights;
  pl->ntargets = static_cast<int>(pl->order.size());
  if (p->mode != TIER_MODE_BIND) {
    for (int s = 0; s < rt->nnodes; ++s)
      if (std::find(pl->order.begin(), pl->order.end(), s) == pl->order.end())
        pl->order.push_back(s);
  }
  for (uint32_t w : pl->weights) pl->weight_sum += w;
  if (!pl->interleaved()) pl->weights.assign(pl->weights.size(), 1);

  std::string key = std::string(mode_field_name(p->mode)) + "/" + std::to_string(pl->flags) + "/";
  for (int i = 0; i < pl->ntargets; ++i)
    key += std::to_string(pl->order[i]) + ":" + std::to_string(pl->weights[i]) + ",";
  key += "/";
  for (int s : pl->order) key += std::to_string(s) + ",";
  pl->key = key;
  pl->text = std::string(mode_field_name(p->mode)) + "=";
  for (int i = 0; i < pl->ntargets; ++i) {
    pl->text += (i ? "," : "") + std::to_string(rt->nodes[pl->order[i]].node.id);
    if (p->mode == TIER_MODE_WEIGHTED_INTERLEAVE) pl->text += ":" + std::to_string(pl->weights[i]);
  }

  std::lock_guard<std::mutex> lock(rt->placements_mu);
  if (auto it = rt->placements.find(key); it != rt->placements.end()) return it->second.get();
  uint32_t gid = g_next_gid.fetch_add(1, std::memory_order_relaxed);
  if (gid >= kMaxPlacements) {
    return make_error(TIER_ENOMEM, "too many placements in this process (limit " +
                                       std::to_string(kMaxPlacements - 1) + ")");
  }
  pl->gid = static_cast<uint16_t>(gid);
  pl->kernel_mode = choose_kernel_mode(rt, *pl);
  if (Status st = create_arena(pl.get()); !st) return std::move(st).error();
  tier_placement *raw = pl.get();
  g_by_gid[raw->gid].store(raw, std::memory_order_release);
  rt->placements.emplace(key, std::move(pl));
  return raw;
}

int next_interleave_slot(tier_placement *pl) {
  // Block-weighted round-robin: weights 3,1 give A A A B per four granules. One relaxed
  // fetch_add keeps concurrent allocations spread without a lock.
  uint64_t c = pl->cursor.fetch_add(1, std::memory_order_relaxed) % pl->weight_sum;
  for (int i = 0; i < pl->ntargets; ++i) {
    if (c < pl->weights[i]) return pl->order[i];
    c -= pl->weights[i];
  }
  return pl->order[0];
}

}  // namespace tier::alloc

namespace tier::alloc {

tier_placement *placement_by_gid(uint32_t gid) {
  return gid < kMaxPlacements ? g_by_gid[gid].load(std::memory_order_acquire) : nullptr;
}

void forget_placements(tier_runtime *rt) {
  std::lock_guard<std::mutex> lock(rt->placements_mu);
  for (auto &[key, pl] : rt->placements) {
    detach_arena(pl->binding);
    g_by_gid[pl->gid].store(nullptr, std::memory_order_release);
  }
}

}  // namespace tier::alloc
