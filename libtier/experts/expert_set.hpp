// expert_set.hpp - the MoE expert registry behind include/tier/experts.h.
//
// A fixed table of layers x experts slots. A registered slot holds the tensor's address and
// size (published with release, so the lock-free routing path sees a complete entry), the
// region it was registered as (one object group: the runtime moves the expert whole), and
// counters of what the router reported. Routing credits heat through tier_touch on the
// tensor's bytes; the agent's policy does the placing.
//
// Thread-safety: route/prefetch/touch/addr read slots lock-free; register, unregister, info
// and stats hold `mu_`. Unregistering while another thread routes to the same expert is
// memory-safe (a touch of memory no longer tracked is ignored by the chunk table).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "alloc/runtime.hpp"
#include "common/result.hpp"
#include "tier/experts.h"

namespace tier::experts {

inline constexpr uint64_t kChunkBytes = uint64_t{2} << 20;
inline constexpr uint32_t kMaxSlots = 1u << 20;
inline constexpr int kMaxTiers = 8;

struct SetConfig {
  uint32_t layers = 0;
  uint32_t per_layer = 0;
  uint32_t prefetch_weight = 1;
  bool per_selection = false;  // TIER_EXPERTS_HEAT_PER_SELECTION
  tier_policy policy{};
};

Result<SetConfig> set_config(const tier_experts_options *options);

class ExpertSet {
 public:
  static Result<std::unique_ptr<ExpertSet>> create(tier_runtime *rt, const SetConfig &c);
  ~ExpertSet();
  ExpertSet(const ExpertSet &) = delete;
  ExpertSet &operator=(const ExpertSet &) = delete;

  Result<void *> add(const tier_expert_desc &desc);
  Status remove(uint32_t layer, uint32_t expert);
  void *addr(uint32_t layer, uint32_t expert) const;

  Status route(uint32_t layer, const uint32_t *experts, const uint32_t *tokens, size_t n);
  Status prefetch(uint32_t layer, const uint32_t *experts, size_t n);
  Status touch(uint32_t layer, uint32_t expert, uint32_t reads, uint32_t writes);

  Status info(uint32_t layer, uint32_t expert, tier_expert_info *out);
  void stats(tier_experts_stats *out);

 private:
  struct Slot {
    std::atomic<char *> addr{nullptr};  // non-null = registered
    std::atomic<uint64_t> bytes{0};     // stored before addr is published
    uint32_t flags = 0;
    bool owned = false;
    uint32_t region = 0;
    std::atomic<uint64_t> routed_tokens{0}, routings{0}, prefetches{0};
  };

  ExpertSet(tier_runtime *rt, const SetConfig &c) : rt_(rt), c_(c) {}
  Result<Slot *> slot(uint32_t layer, uint32_t expert, const char *call) const;
  void release_slot(Slot &s);  // mu_ held

  tier_runtime *rt_;
  SetConfig c_;
  tier_placement *placement_ = nullptr;
  std::unique_ptr<Slot[]> slots_;
  std::mutex mu_;
};

}  // namespace tier::experts
