// expert_set.cpp - expert registration, routing heat and prefetch hints (see expert_set.hpp).
#include "experts/expert_set.hpp"

#include <cstring>
#include <string>

#include "alloc/resident_node.hpp"
#include "tier/heat.h"

namespace tier::experts {

namespace {

std::string slot_text(uint32_t layer, uint32_t expert) {
  return "expert " + std::to_string(layer) + "/" + std::to_string(expert);
}

Error last_error_of(const std::string &what) {
  return make_error(tier_last_status(), what + ": " + tier_last_error());
}

}  // namespace

Result<SetConfig> set_config(const tier_experts_options *o) {
  if (!o) return make_error(TIER_EINVAL, "tier_experts_create: options is NULL");
  if (o->size != sizeof(tier_experts_options))
    return make_error(TIER_EINVAL, "tier_experts_create: options->size is " +
                                       std::to_string(o->size) + ", expected " +
                                       std::to_string(sizeof(tier_experts_options)));
  if (o->layers == 0 || o->experts_per_layer == 0)
    return make_error(TIER_EINVAL,
                      "tier_experts_create: options->layers and experts_per_layer must be > 0");
  if (uint64_t{o->layers} * o->experts_per_layer > kMaxSlots)
    return make_error(TIER_EINVAL, "tier_experts_create: layers x experts_per_layer exceeds 2^20");
  if (o->flags & ~uint32_t{TIER_EXPERTS_HEAT_PER_SELECTION})
    return make_error(TIER_EINVAL, "tier_experts_create: unknown options->flags");
  SetConfig c;
  c.layers = o->layers;
  c.per_layer = o->experts_per_layer;
  c.prefetch_weight = o->prefetch_weight ? o->prefetch_weight : 1;
  c.per_selection = o->flags & TIER_EXPERTS_HEAT_PER_SELECTION;
  if (o->policy)
    c.policy = *o->policy;
  else
    tier_policy_init(&c.policy);
  return c;
}

Result<std::unique_ptr<ExpertSet>> ExpertSet::create(tier_runtime *rt, const SetConfig &c) {
  if (!rt) return make_error(TIER_EINVAL, "tier_experts_create: runtime is NULL");
  std::unique_ptr<ExpertSet> s(new ExpertSet(rt, c));
  s->placement_ = tier_placement_get(rt, &c.policy);
  if (!s->placement_) return last_error_of("tier_experts_create: options->policy");
  s->slots_ = std::make_unique<Slot[]>(size_t{c.layers} * c.per_layer);
  return s;
}

ExpertSet::~ExpertSet() {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < size_t{c_.layers} * c_.per_layer; ++i)
    if (slots_[i].addr.load(std::memory_order_relaxed)) release_slot(slots_[i]);
}

Result<ExpertSet::Slot *> ExpertSet::slot(uint32_t layer, uint32_t expert, const char *call) const {
  if (layer >= c_.layers || expert >= c_.per_layer)
    return make_error(TIER_EINVAL, std::string(call) + ": " + slot_text(layer, expert) +
                                       " is out of range (" + std::to_string(c_.layers) +
                                       " layers x " + std::to_string(c_.per_layer) + " experts)");
  return &slots_[size_t{layer} * c_.per_layer + expert];
}

void ExpertSet::release_slot(Slot &s) {
  char *a = s.addr.exchange(nullptr, std::memory_order_acq_rel);
  (void)tier_region_unregister(rt_, s.region);
  if (s.owned) (void)tier_free(rt_, a);
}

Result<void *> ExpertSet::add(const tier_expert_desc &d) {
  static const char *kCall = "tier_experts_register";
  Result<Slot *> sr = slot(d.layer, d.expert, kCall);
  if (!sr) return std::move(sr).error();
  if (d.bytes == 0)
    return make_error(TIER_EINVAL,
                      std::string(kCall) + ": " + slot_text(d.layer, d.expert) + " has 0 bytes");
  if (d.flags & ~uint32_t{TIER_EXPERT_READ_MOSTLY})
    return make_error(TIER_EINVAL, std::string(kCall) + ": unknown flags");
  Slot &s = **sr;
  std::lock_guard lock(mu_);
  if (s.addr.load(std::memory_order_relaxed))
    return make_error(TIER_EBUSY, std::string(kCall) + ": " + slot_text(d.layer, d.expert) +
                                      " is already registered");
  char *mem = static_cast<char *>(d.data);
  const bool owned = mem == nullptr;
  if (owned) {
    // Whole chunks: the expert never shares a chunk with another object, so it moves alone.
    const uint64_t len = (d.bytes + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
    mem = static_cast<char *>(tier_aligned_alloc_p(rt_, kChunkBytes, len, placement_));
    if (!mem) return last_error_of(std::string(kCall) + ": " + slot_text(d.layer, d.expert));
  }
  uint32_t region = 0;
  if (tier_region_register(rt_, mem, d.bytes, TIER_GROUP_WHOLE, 0, &region) != TIER_OK) {
    Error e = last_error_of(std::string(kCall) + ": " + slot_text(d.layer, d.expert));
    if (owned) (void)tier_free(rt_, mem);
    return e;
  }
  s.bytes.store(d.bytes, std::memory_order_relaxed);
  s.flags = d.flags;
  s.owned = owned;
  s.region = region;
  s.routed_tokens.store(0, std::memory_order_relaxed);
  s.routings.store(0, std::memory_order_relaxed);
  s.prefetches.store(0, std::memory_order_relaxed);
  s.addr.store(mem, std::memory_order_release);
  return static_cast<void *>(mem);
}

Status ExpertSet::remove(uint32_t layer, uint32_t expert) {
  Result<Slot *> sr = slot(layer, expert, "tier_experts_unregister");
  if (!sr) return std::move(sr).error();
  std::lock_guard lock(mu_);
  if (!(*sr)->addr.load(std::memory_order_relaxed))
    return make_error(
        TIER_EINVAL, "tier_experts_unregister: " + slot_text(layer, expert) + " is not registered");
  release_slot(**sr);
  return {};
}

void *ExpertSet::addr(uint32_t layer, uint32_t expert) const {
  if (layer >= c_.layers || expert >= c_.per_layer) return nullptr;
  return slots_[size_t{layer} * c_.per_layer + expert].addr.load(std::memory_order_acquire);
}

Status ExpertSet::route(uint32_t layer, const uint32_t *experts, const uint32_t *tokens, size_t n) {
  if (n && !experts) return make_error(TIER_EINVAL, "tier_experts_route: experts is NULL");
  if (layer >= c_.layers)
    return make_error(TIER_EINVAL, "tier_experts_route: layer " + std::to_string(layer) +
                                       " is out of range (" + std::to_string(c_.layers) +
                                       " layers)");
  Status first_error;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t t = tokens ? tokens[i] : 1;
    auto *a = static_cast<char *>(addr(layer, experts[i]));
    if (!a) {
      if (first_error)
        first_error =
            make_error(TIER_EINVAL, "tier_experts_route: " + slot_text(layer, experts[i]) +
                                        " is not registered");
      continue;
    }
    Slot &s = slots_[size_t{layer} * c_.per_layer + experts[i]];
    const uint32_t reads = c_.per_selection ? 1 : t;
    if (reads) tier_touch(rt_, a, s.bytes.load(std::memory_order_relaxed), reads, 0);
    s.routed_tokens.fetch_add(t, std::memory_order_relaxed);
    s.routings.fetch_add(1, std::memory_order_relaxed);
  }
  return first_error;
}

Status ExpertSet::prefetch(uint32_t layer, const uint32_t *experts, size_t n) {
  if (n && !experts) return make_error(TIER_EINVAL, "tier_experts_prefetch: experts is NULL");
  Status first_error;
  for (size_t i = 0; i < n; ++i) {
    auto *a = static_cast<char *>(addr(layer, experts[i]));
    if (!a) {
      if (first_error)
        first_error =
            make_error(TIER_EINVAL, "tier_experts_prefetch: " + slot_text(layer, experts[i]) +
                                        " is not registered");
      continue;
    }
    Slot &s = slots_[size_t{layer} * c_.per_layer + experts[i]];
    tier_touch(rt_, a, s.bytes.load(std::memory_order_relaxed), c_.prefetch_weight, 0);
    s.prefetches.fetch_add(1, std::memory_order_relaxed);
  }
  return first_error;
}

Status ExpertSet::touch(uint32_t layer, uint32_t expert, uint32_t reads, uint32_t writes) {
  void *a = addr(layer, expert);
  if (!a)
    return make_error(TIER_EINVAL,
                      "tier_experts_touch: " + slot_text(layer, expert) + " is not registered");
  const Slot &s = slots_[size_t{layer} * c_.per_layer + expert];
  tier_touch(rt_, a, s.bytes.load(std::memory_order_relaxed), reads, writes);
  return {};
}

Status ExpertSet::info(uint32_t layer, uint32_t expert, tier_expert_info *out) {
  if (!out || out->size != sizeof(tier_expert_info))
    return make_error(TIER_EINVAL, "tier_experts_info_get: info is NULL or info->size is wrong");
  Result<Slot *> sr = slot(layer, expert, "tier_experts_info_get");
  if (!sr) return std::move(sr).error();
  std::lock_guard lock(mu_);
  const Slot &s = **sr;
  char *a = s.addr.load(std::memory_order_relaxed);
  if (!a)
    return make_error(TIER_EINVAL,
                      "tier_experts_info_get: " + slot_text(layer, expert) + " is not registered");
  out->addr = a;
  out->bytes = s.bytes.load(std::memory_order_relaxed);
  out->flags = s.flags;
  out->owned = s.owned ? 1 : 0;
  out->node = alloc::resident_node(rt_, a);
  out->tier = alloc::tier_of_node(rt_, out->node);
  out->routed_tokens = s.routed_tokens.load(std::memory_order_relaxed);
  out->routings = s.routings.load(std::memory_order_relaxed);
  out->prefetches = s.prefetches.load(std::memory_order_relaxed);
  return {};
}

void ExpertSet::stats(tier_experts_stats *out) {
  const size_t size = out->size;
  std::memset(out, 0, sizeof *out);
  out->size = size;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < size_t{c_.layers} * c_.per_layer; ++i) {
    const Slot &s = slots_[i];
    char *a = s.addr.load(std::memory_order_relaxed);
    if (!a) continue;
    const uint64_t bytes = s.bytes.load(std::memory_order_relaxed);
    ++out->registered;
    out->bytes += bytes;
    out->routed_tokens += s.routed_tokens.load(std::memory_order_relaxed);
    out->routings += s.routings.load(std::memory_order_relaxed);
    out->prefetches += s.prefetches.load(std::memory_order_relaxed);
    const int t = alloc::tier_of_node(rt_, alloc::resident_node(rt_, a));
    if (t >= 0 && t < kMaxTiers) {
      ++out->experts_on_tier[t];
      out->bytes_on_tier[t] += bytes;
    }
  }
}

}  // namespace tier::experts
