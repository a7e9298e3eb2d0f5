// Expert weights (include/tier/experts.h) on the `default` emulated preset: registration and
// its errors, routing decisions turned into heat so that after a few epochs the hottest experts
// are the ones on the fastest tier (and follow a shift of the routing), prefetch hints that
// promote an expert before it is routed, and caller-owned tensors.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "tier/experts.h"
#include "tier/heat.h"
#include "tier/tier.h"
#include "test_runtime_fixture.hpp"

using tier::test::Rt;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

tier_policy bind_to(int node) {
  return tier::test::on_node(TIER_MODE_BIND, node);
}

tier_experts *make_set(tier_runtime *rt, uint32_t layers, uint32_t per_layer,
                       const tier_policy *policy, uint32_t prefetch_weight = 0) {
  tier_experts_options o = TIER_EXPERTS_OPTIONS_INIT;
  o.layers = layers;
  o.experts_per_layer = per_layer;
  o.policy = policy;
  o.prefetch_weight = prefetch_weight;
  tier_experts *set = nullptr;
  REQUIRE(tier_experts_create(rt, &o, &set) == TIER_OK);
  return set;
}

void *add(tier_experts *set, uint32_t layer, uint32_t expert, uint64_t bytes) {
  tier_expert_desc d = TIER_EXPERT_DESC_INIT;
  d.layer = layer;
  d.expert = expert;
  d.bytes = bytes;
  d.flags = TIER_EXPERT_READ_MOSTLY;
  void *addr = nullptr;
  REQUIRE(tier_experts_register(set, &d, &addr) == TIER_OK);
  REQUIRE(addr != nullptr);
  std::memset(addr, static_cast<int>(layer * 16 + expert), bytes);  // "load the weights"
  return addr;
}

tier_expert_info info_of(tier_experts *set, uint32_t layer, uint32_t expert) {
  tier_expert_info i{};
  i.size = sizeof i;
  REQUIRE(tier_experts_info_get(set, layer, expert, &i) == TIER_OK);
  return i;
}

}  // namespace

TEST_CASE("experts: registration errors name what is wrong") {
  Rt rt;
  tier_experts *set = nullptr;
  tier_experts_options o = TIER_EXPERTS_OPTIONS_INIT;
  CHECK(tier_experts_create(rt.rt, &o, &set) == TIER_EINVAL);  // no layers
  CHECK(std::string(tier_last_error()).find("layers") != std::string::npos);
  o.layers = 2048;
  o.experts_per_layer = 1024;
  CHECK(tier_experts_create(rt.rt, &o, &set) == TIER_EINVAL);  // too many slots
  o.layers = 2;
  o.experts_per_layer = 4;
  o.size = 3;
  CHECK(tier_experts_create(rt.rt, &o, &set) == TIER_EINVAL);
  o.size = sizeof o;
  o.flags = 8;
  CHECK(tier_experts_create(rt.rt, &o, &set) == TIER_EINVAL);
  o.flags = 0;
  CHECK(tier_experts_create(nullptr, &o, &set) == TIER_EINVAL);
  CHECK(set == nullptr);
  REQUIRE(tier_experts_create(rt.rt, &o, &set) == TIER_OK);

  tier_expert_desc d = TIER_EXPERT_DESC_INIT;
  d.bytes = 2 * kMiB;
  d.layer = 2;  // out of range
  CHECK(tier_experts_register(set, &d, nullptr) == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("expert 2/0 is out of range") != std::string::npos);
  d.layer = 1;
  d.expert = 4;
  CHECK(tier_experts_register(set, &d, nullptr) == TIER_EINVAL);
  d.expert = 3;
  d.bytes = 0;
  CHECK(tier_experts_register(set, &d, nullptr) == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("0 bytes") != std::string::npos);
  d.bytes = 2 * kMiB;
  d.flags = 0x80;
  CHECK(tier_experts_register(set, &d, nullptr) == TIER_EINVAL);
  d.flags = 0;
  d.size = 1;
  CHECK(tier_experts_register(set, &d, nullptr) == TIER_EINVAL);
  d.size = sizeof d;
  CHECK(tier_experts_register(set, nullptr, nullptr) == TIER_EINVAL);
  void *addr = nullptr;
  REQUIRE(tier_experts_register(set, &d, &addr) == TIER_OK);
  CHECK(reinterpret_cast<uintptr_t>(addr) % (2 * kMiB) == 0);
  CHECK(tier_experts_addr(set, 1, 3) == addr);
  CHECK(tier_experts_register(set, &d, nullptr) == TIER_EBUSY);  // slot taken
  CHECK(std::string(tier_last_error()).find("already registered") != std::string::npos);

  // Routing to an unregistered expert credits the others and names the first missing one.
  const uint32_t sel[3] = {3, 1, 9};
  const uint32_t tok[3] = {5, 2, 1};
  CHECK(tier_experts_route(set, 1, sel, tok, 3) == TIER_EINVAL);
  CHECK(std::string(tier_last_error()).find("expert 1/1 is not registered") != std::string::npos);
  CHECK(info_of(set, 1, 3).routed_tokens == 5);
  CHECK(tier_experts_route(set, 7, sel, tok, 1) == TIER_EINVAL);  // layer out of range
  CHECK(tier_experts_route(set, 1, nullptr, nullptr, 1) == TIER_EINVAL);
  CHECK(tier_experts_prefetch(set, 0, sel, 1) == TIER_EINVAL);
  CHECK(tier_experts_touch(set, 0, 0, 1, 0) == TIER_EINVAL);
  tier_expert_info info{};
  info.size = sizeof info;
  CHECK(tier_experts_info_get(set, 0, 0, &info) == TIER_EINVAL);
  info.size = 0;
  CHECK(tier_experts_info_get(set, 1, 3, &info) == TIER_EINVAL);

  REQUIRE(tier_experts_unregister(set, 1, 3) == TIER_OK);
  CHECK(tier_experts_unregister(set, 1, 3) == TIER_EINVAL);
  CHECK(tier_experts_addr(set, 1, 3) == nullptr);
  CHECK(tier_experts_route(nullptr, 0, sel, nullptr, 1) == TIER_EINVAL);
  CHECK(tier_experts_addr(nullptr, 0, 0) == nullptr);
  tier_experts_destroy(set);
  tier_experts_destroy(nullptr);
}

TEST_CASE("experts: the router's hottest experts end up on the fastest tier, and follow shifts") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  // Room for about four of the sixteen 2 MiB experts on HBM (and its 5% headroom).
  REQUIRE(tier_node_set_capacity(rt.rt, hbm, 10 * kMiB) == TIER_OK);
  const tier_policy on_cxl = bind_to(cxl);
  tier_experts *set = make_set(rt.rt, 2, 8, &on_cxl);
  for (uint32_t l = 0; l < 2; ++l)
    for (uint32_t e = 0; e < 8; ++e) add(set, l, e, 2 * kMiB);
  REQUIRE(tier_set_policy(rt.rt, "heat") == TIER_OK);

  // Top-2 routing of 53 tokens per step: layer 0 favours experts 0 and 1, layer 1 favours
  // 5 and 6; every other expert sees a token now and then.
  const auto step = [&](const uint32_t hot[2][2]) {
    for (uint32_t l = 0; l < 2; ++l) {
      const uint32_t sel[4] = {hot[l][0], hot[l][1], (hot[l][0] + 2) % 8, (hot[l][1] + 3) % 8};
      // Hot enough that a move to HBM repays its cost within the heat's horizon: on the
      // default preset a 2 MiB DRAM->HBM round trip costs ~80 accesses' savings.
      const uint32_t tok[4] = {56, 48, 1, 1};
      REQUIRE(tier_experts_route(set, l, sel, tok, 4) == TIER_OK);
    }
    REQUIRE(tier_epoch(rt.rt, nullptr) == TIER_OK);
  };
  const auto on_fast = [&](uint32_t l, uint32_t e) { return info_of(set, l, e).tier == 0; };
  const uint32_t first[2][2] = {{0, 1}, {5, 6}};
  int epochs = 0;
  for (; epochs < 20; ++epochs) {
    step(first);
    if (on_fast(0, 0) && on_fast(0, 1) && on_fast(1, 5) && on_fast(1, 6)) break;
  }
  INFO("epochs: " << epochs);
  CHECK(on_fast(0, 0));
  CHECK(on_fast(0, 1));
  CHECK(on_fast(1, 5));
  CHECK(on_fast(1, 6));
  // The cold ones stayed below: HBM holds at most four of them.
  tier_experts_stats s{};
  s.size = sizeof s;
  REQUIRE(tier_experts_stats_get(set, &s) == TIER_OK);
  CHECK(s.registered == 16);
  CHECK(s.experts_on_tier[0] == 4);
  CHECK(s.bytes == 32 * kMiB);
  CHECK(info_of(set, 0, 0).routed_tokens == uint64_t(56) * (epochs + 1));
  // Their bytes moved with them.
  CHECK(static_cast<unsigned char *>(tier_experts_addr(set, 1, 5))[kMiB] == 16 + 5);

  // The routing shifts (another subject): the new favourites replace the old ones.
  const uint32_t second[2][2] = {{3, 4}, {2, 7}};
  for (epochs = 0; epochs < 40; ++epochs) {
    step(second);
    if (on_fast(0, 3) && on_fast(0, 4) && on_fast(1, 2) && on_fast(1, 7)) break;
  }
  INFO("epochs after the shift: " << epochs);
  CHECK(on_fast(0, 3));
  CHECK(on_fast(0, 4));
  CHECK(on_fast(1, 2));
  CHECK(on_fast(1, 7));
  CHECK_FALSE(on_fast(0, 0));
  tier_experts_destroy(set);
}

TEST_CASE("experts: a prefetch hint promotes an expert before it is routed") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
  REQUIRE(tier_node_set_capacity(rt.rt, hbm, 10 * kMiB) == TIER_OK);
  const tier_policy on_cxl = bind_to(cxl);
  tier_experts *set = make_set(rt.rt, 2, 4, &on_cxl, 8);
  for (uint32_t l = 0; l < 2; ++l)
    for (uint32_t e = 0; e < 4; ++e) add(set, l, e, 2 * kMiB);
  CHECK(info_of(set, 1, 2).tier != 0);
  // The predictor expects layer 1's expert 2 next; nothing has been routed to it yet.
  const uint32_t next[1] = {2};
  int epochs = 0;
  for (; epochs < 10 && info_of(set, 1, 2).tier != 0; ++epochs) {
    REQUIRE(tier_experts_prefetch(set, 1, next, 1) == TIER_OK);
    REQUIRE(tier_epoch(rt.rt, nullptr) == TIER_OK);
  }
  CHECK(info_of(set, 1, 2).tier == 0);
  CHECK(info_of(set, 1, 2).routed_tokens == 0);
  CHECK(info_of(set, 1, 2).prefetches == uint64_t(epochs));
  CHECK(info_of(set, 1, 2).flags == TIER_EXPERT_READ_MOSTLY);
  CHECK(info_of(set, 0, 0).tier != 0);
  tier_experts_destroy(set);
}

TEST_CASE("experts: per-selection heat ranks by selections, not by tokens") {
  for (const bool per_selection : {false, true}) {
    // A fresh runtime each time: freed runs stay cached (and charged) on their node.
    Rt rt;
    const int hbm = rt.node_of_kind(TIER_KIND_HBM), cxl = rt.node_of_kind(TIER_KIND_CXL);
    // Room for one 2 MiB expert, with or without the 5% headroom.
    REQUIRE(tier_node_set_capacity(rt.rt, hbm, 3 * kMiB) == TIER_OK);
    const tier_policy on_cxl = bind_to(cxl);
    tier_experts_options o = TIER_EXPERTS_OPTIONS_INIT;
    o.layers = 1;
    o.experts_per_layer = 2;
    o.policy = &on_cxl;
    o.flags = per_selection ? TIER_EXPERTS_HEAT_PER_SELECTION : 0u;
    tier_experts *set = nullptr;
    REQUIRE(tier_experts_create(rt.rt, &o, &set) == TIER_OK);
    add(set, 0, 0, 2 * kMiB);
    add(set, 0, 1, 2 * kMiB);
    // Expert 0: selected once a step with many tokens; expert 1: selected three times a step
    // with one token each (three micro-batches).
    for (int e = 0; e < 8; ++e) {
      const uint32_t big[1] = {0}, many_tokens[1] = {50};
      REQUIRE(tier_experts_route(set, 0, big, many_tokens, 1) == TIER_OK);
      const uint32_t small[1] = {1};
      for (int k = 0; k < 3; ++k) REQUIRE(tier_experts_route(set, 0, small, nullptr, 1) == TIER_OK);
      REQUIRE(tier_epoch(rt.rt, nullptr) == TIER_OK);
    }
    INFO("per selection: " << per_selection);
    CHECK(info_of(set, 0, per_selection ? 1 : 0).tier == 0);
    CHECK(info_of(set, 0, per_selection ? 0 : 1).tier != 0);
    CHECK(info_of(set, 0, 0).routed_tokens == 8 * 50);  // tokens are counted either way
    tier_experts_destroy(set);
  }
}

TEST_CASE("experts: caller-owned tensors are registered, moved and left to the caller") {
  Rt rt;
  const int hbm = rt.node_of_kind(TIER_KIND_HBM), dram = rt.node_of_kind(TIER_KIND_DRAM);
  const tier_policy on_dram = bind_to(dram);
  auto *mine = static_cast<unsigned char *>(tier_malloc(rt.rt, 4 * kMiB, &on_dram));
  REQUIRE(mine != nullptr);
  std::memset(mine, 0x7e, 4 * kMiB);
  tier_experts *set = make_set(rt.rt, 1, 2, nullptr);
  tier_expert_desc d = TIER_EXPERT_DESC_INIT;
  d.bytes = 4 * kMiB;
  d.data = mine;
  void *addr = nullptr;
  REQUIRE(tier_experts_register(set, &d, &addr) == TIER_OK);
  CHECK(addr == mine);
  CHECK(info_of(set, 0, 0).owned == 0);
  CHECK(info_of(set, 0, 0).node == dram);
  // The same memory cannot be a second expert.
  d.expert = 1;
  CHECK(tier_experts_register(set, &d, nullptr) == TIER_EBUSY);
  for (int e = 0; e < 6 && info_of(set, 0, 0).node != hbm; ++e) {
    REQUIRE(tier_experts_touch(set, 0, 0, 500, 0) == TIER_OK);
    REQUIRE(tier_epoch(rt.rt, nullptr) == TIER_OK);
  }
  CHECK(info_of(set, 0, 0).node == hbm);
  CHECK(mine[4 * kMiB - 1] == 0x7e);
  tier_experts_destroy(set);
  // Still the caller's to use and free.
  mine[0] = 1;
  CHECK(tier_free(rt.rt, mine) == TIER_OK);
}
