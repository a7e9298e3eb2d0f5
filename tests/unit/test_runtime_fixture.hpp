// test_runtime_fixture.hpp - a runtime on the `default` emulated preset (with optional
// TIER_RUNTIME_* flags), created per test, its agent (if any) stopped and the runtime
// destroyed at the end; and a one-node policy. Tests that need more derive from Rt.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>

#include "tier/heat.h"
#include "tier/tier.h"

namespace tier::test {

struct Rt {
  tier_runtime *rt = nullptr;
  explicit Rt(uint32_t flags = 0) {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    o.topology = "default";
    o.flags = flags;
    REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  }
  ~Rt() {
    tier_agent_stop(rt);
    tier_runtime_destroy(rt);
  }
  Rt(const Rt &) = delete;
  Rt &operator=(const Rt &) = delete;
  // The id of the first node of `kind`, or -1.
  int node_of_kind(tier_node_kind kind) const {
    for (int i = 0; i < tier_node_count(rt); ++i) {
      tier_node_info info{};
      info.size = sizeof info;
      REQUIRE(tier_node_at(rt, i, &info) == TIER_OK);
      if (info.kind == kind) return info.id;
    }
    return -1;
  }
};

// `mode` (bind, preferred, ...) on the one node `node`.
inline tier_policy on_node(tier_mode mode, int node) {
  tier_policy p = TIER_POLICY_INIT;
  p.mode = mode;
  p.select = TIER_SELECT_NODES;
  p.nnodes = 1;
  p.nodes[0] = node;
  return p;
}

}  // namespace tier::test
