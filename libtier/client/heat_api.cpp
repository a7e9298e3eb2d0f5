// heat_api.cpp - the C ABI of include/tier/heat.h over the per-runtime Agent.
//
// Every entry validates its arguments, catches allocation failures (no exception crosses the
// ABI) and reports errors through the thread's last error. tier_touch is the hot path: one
// lock-free side-table lookup and the chunk table's relaxed adds.
#include <cstring>
#include <new>

#include "alloc/runtime.hpp"
#include "client/agent.hpp"
#include "tier/heat.h"

using tier::client::Agent;
using tier::client::agent_of;

namespace {

template <class Fn>
tier_status guarded(const char *what, Fn &&fn) {
  try {
    return fn();
  } catch (const std::bad_alloc &) {
    return tier::set_last_error(TIER_ENOMEM, what);
  } catch (...) {
    return tier::set_last_error(TIER_EINVAL, what);
  }
}

tier_status fail(tier::Error e) {
  return tier::set_last_error(e);
}

Agent *agent_or_error(tier_runtime *rt, const char *what) {
  if (!rt) {
    tier::set_last_error(TIER_EINVAL, what);
    return nullptr;
  }
  return agent_of(rt, true);
}

}  // namespace

extern "C" {

TIER_API tier_status tier_region_register(tier_runtime *rt, const void *ptr, size_t len,
                                          size_t group_hint, uint32_t flags, uint32_t *region_id) {
  return guarded("tier_region_register: out of memory", [&] {
    if (!region_id)
      return tier::set_last_error(TIER_EINVAL, "tier_region_register: region_id is NULL");
    Agent *a = agent_or_error(rt, "tier_region_register: runtime is NULL");
    if (!a) return tier_last_status();
    tier::Result<uint32_t> id = a->register_region(ptr, len, group_hint, flags);
    if (!id) return fail(std::move(id).error());
    *region_id = *id;
    return TIER_OK;
  });
}

TIER_API tier_status tier_region_unregister(tier_runtime *rt, uint32_t region_id) {
  return guarded("tier_region_unregister: out of memory", [&] {
    Agent *a = rt ? agent_of(rt, false) : nullptr;
    if (!a)
      return tier::set_last_error(TIER_EINVAL,
                                  "tier_region_unregister: no region registered "
                                  "with this runtime");
    if (tier::Status s = a->unregister_region(region_id); !s) return fail(std::move(s).error());
    return TIER_OK;
  });
}

TIER_API void tier_touch(tier_runtime *rt, const void *ptr, size_t len, uint32_t reads,
                         uint32_t writes) {
  // The thread's last agent first, inline: through agent_of() the call cost more than the
  // touch itself (docs/benchmarks.md, "Targets").
  const tier::client::AgentHit &hit = tier::client::t_agent_hit;
  Agent *a =
      rt && hit.rt == rt && hit.generation == rt->generation ? hit.agent : agent_of(rt, false);
  if (a) a->table().touch(ptr, len, reads, writes);
}

TIER_API tier_status tier_pin(tier_runtime *rt, const void *ptr, size_t len) {
  if (!rt || !ptr || !len) return tier::set_last_error(TIER_EINVAL, "tier_pin: empty range");
  if (Agent *a = agent_of(rt, false)) a->table().pin(ptr, len);
  return TIER_OK;
}

TIER_API tier_status tier_unpin(tier_runtime *rt, const void *ptr, size_t len) {
  if (!rt || !ptr || !len) return tier::set_last_error(TIER_EINVAL, "tier_unpin: empty range");
  if (Agent *a = agent_of(rt, false)) a->table().unpin(ptr, len);
  return TIER_OK;
}

TIER_API tier_status tier_set_policy(tier_runtime *rt, const char *name) {
  return guarded("tier_set_policy: out of memory", [&] {
    if (!name) return tier::set_last_error(TIER_EINVAL, "tier_set_policy: name is NULL");
    Agent *a = agent_or_error(rt, "tier_set_policy: runtime is NULL");
    if (!a) return tier_last_status();
    if (tier::Status s = a->set_policy(name); !s) return fail(std::move(s).error());
    return TIER_OK;
  });
}

TIER_API tier_status tier_epoch(tier_runtime *rt, tier_epoch_stats *stats) {
  return guarded("tier_epoch: out of memory", [&] {
    if (stats && stats->size < sizeof(size_t) + sizeof(uint64_t))
      return tier::set_last_error(TIER_EINVAL, "tier_epoch: stats->size is too small");
    Agent *a = agent_or_error(rt, "tier_epoch: runtime is NULL");
    if (!a) return tier_last_status();
    tier::Result<tier::client::EpochReport> r = a->epoch();
    if (!r) return fail(std::move(r).error());
    if (stats) {
      tier_epoch_stats s;
      std::memset(&s, 0, sizeof s);
      s.epoch = r->epoch;
      s.chunks = r->chunks;
      s.active_chunks = r->active_chunks;
      s.accesses = r->accesses;
      s.moves_planned = r->moves_planned;
      s.moves_done = r->moves_done;
      s.promotions = r->promotions;
      s.demotions = r->demotions;
      s.bytes_moved = r->mover.bytes_moved;
      s.pages_failed = r->mover.pages_failed;
      s.moves_refused = r->moves_refused;
      s.epoch_ns = r->epoch_ns;
      s.plan_ns = r->plan_ns;
      s.modelled_migration_s = r->mover.modelled_s;
      const size_t n = std::min(stats->size, sizeof s);
      std::memcpy(reinterpret_cast<char *>(stats) + sizeof(size_t),
                  reinterpret_cast<const char *>(&s) + sizeof(size_t), n - sizeof(size_t));
    }
    return TIER_OK;
  });
}

TIER_API void tier_agent_options_init(tier_agent_options *options) {
  if (options) *options = TIER_AGENT_OPTIONS_INIT;
}

TIER_API tier_status tier_agent_start(tier_runtime *rt, const tier_agent_options *options) {
  return guarded("tier_agent_start: out of memory", [&] {
    tier::Result<tier::client::AgentConfig> c = tier::client::config_from(options);
    if (!c) return fail(std::move(c).error());
    Agent *a = agent_or_error(rt, "tier_agent_start: runtime is NULL");
    if (!a) return tier_last_status();
    if (tier::Status s = a->start(*c); !s) return fail(std::move(s).error());
    return TIER_OK;
  });
}

TIER_API tier_status tier_agent_stop(tier_runtime *rt) {
  if (!rt) return tier::set_last_error(TIER_EINVAL, "tier_agent_stop: runtime is NULL");
  if (Agent *a = agent_of(rt, false)) a->stop();
  return TIER_OK;
}

TIER_API tier_status tier_agent_stats_get(tier_runtime *rt, tier_agent_stats *stats) {
  return guarded("tier_agent_stats_get: out of memory", [&] {
    if (!stats || stats->size < sizeof(size_t) + sizeof(int))
      return tier::set_last_error(TIER_EINVAL, "tier_agent_stats_get: stats is NULL or too small");
    Agent *a = agent_or_error(rt, "tier_agent_stats_get: runtime is NULL");
    if (!a) return tier_last_status();
    a->fill_stats(stats);
    return TIER_OK;
  });
}

}  // extern "C"
