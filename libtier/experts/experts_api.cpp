// experts_api.cpp - the C ABI of include/tier/experts.h over ExpertSet.
//
// Every entry validates its handle, runs under alloc::guarded (no exception crosses the ABI)
// and turns an Error into the thread's last error. route/prefetch/touch/addr take no lock.
#include <memory>
#include <string>

#include "alloc/abi.hpp"
#include "experts/expert_set.hpp"
#include "tier/experts.h"

struct tier_experts {
  std::unique_ptr<tier::experts::ExpertSet> impl;
};

using tier::Status;
using tier::alloc::guarded;
using tier::alloc::with_handle;

extern "C" {

TIER_API void tier_experts_options_init(tier_experts_options *options) {
  if (options) *options = TIER_EXPERTS_OPTIONS_INIT;
}

TIER_API tier_status tier_experts_create(tier_runtime *rt, const tier_experts_options *options,
                                         tier_experts **out) {
  return guarded("tier_experts_create", tier_status{TIER_ENOMEM}, [&]() -> tier_status {
    if (!out) return tier::set_last_error(TIER_EINVAL, "tier_experts_create: out is NULL");
    *out = nullptr;
    tier::Result<tier::experts::SetConfig> c = tier::experts::set_config(options);
    if (!c) return tier::set_last_error(c.error());
    auto s = tier::experts::ExpertSet::create(rt, *c);
    if (!s) return tier::set_last_error(s.error());
    *out = new tier_experts{std::move(*s)};
    return TIER_OK;
  });
}

TIER_API void tier_experts_destroy(tier_experts *set) {
  guarded("tier_experts_destroy", 0, [&] {
    delete set;
    return 0;
  });
}

TIER_API tier_status tier_experts_register(tier_experts *set, const tier_expert_desc *desc,
                                           void **addr) {
  return with_handle("tier_experts_register", set, "set", [&](auto &s) -> Status {
    if (!desc || desc->size != sizeof(tier_expert_desc))
      return tier::make_error(TIER_EINVAL,
                              "tier_experts_register: desc is NULL or desc->size is wrong");
    tier::Result<void *> a = s.add(*desc);
    if (!a) return std::move(a).error();
    if (addr) *addr = *a;
    return {};
  });
}

TIER_API tier_status tier_experts_unregister(tier_experts *set, uint32_t layer, uint32_t expert) {
  return with_handle("tier_experts_unregister", set, "set",
                     [&](auto &s) { return s.remove(layer, expert); });
}

TIER_API void *tier_experts_addr(const tier_experts *set, uint32_t layer, uint32_t expert) {
  return set ? set->impl->addr(layer, expert) : nullptr;
}

TIER_API tier_status tier_experts_route(tier_experts *set, uint32_t layer, const uint32_t *experts,
                                        const uint32_t *tokens, size_t n) {
  return with_handle("tier_experts_route", set, "set",
                     [&](auto &s) { return s.route(layer, experts, tokens, n); });
}

TIER_API tier_status tier_experts_prefetch(tier_experts *set, uint32_t layer,
                                           const uint32_t *experts, size_t n) {
  return with_handle("tier_experts_prefetch", set, "set",
                     [&](auto &s) { return s.prefetch(layer, experts, n); });
}

TIER_API tier_status tier_experts_touch(tier_experts *set, uint32_t layer, uint32_t expert,
                                        uint32_t reads, uint32_t writes) {
  return with_handle("tier_experts_touch", set, "set",
                     [&](auto &s) { return s.touch(layer, expert, reads, writes); });
}

TIER_API tier_status tier_experts_info_get(tier_experts *set, uint32_t layer, uint32_t expert,
                                           tier_expert_info *info) {
  return with_handle("tier_experts_info_get", set, "set",
                     [&](auto &s) { return s.info(layer, expert, info); });
}

TIER_API tier_status tier_experts_stats_get(tier_experts *set, tier_experts_stats *stats) {
  return with_handle("tier_experts_stats_get", set, "set", [&](auto &s) -> Status {
    if (!stats || stats->size != sizeof(tier_experts_stats))
      return tier::make_error(TIER_EINVAL,
                              "tier_experts_stats_get: stats is NULL or stats->size is wrong");
    s.stats(stats);
    return {};
  });
}

}  // extern "C"
