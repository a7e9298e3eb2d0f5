// test_runtime_fixture.hpp - a runtime on the `default` emulated preset for tests of the
// layers above the allocator (KV pool, experts): created per test, its agent stopped
// and the runtime destroyed at the end.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>

#include "tier/heat.h"
#include "tier/tier.h"

namespace tier::test {

struct Rt {
  tier_runtime *rt = nullptr;
  Rt() {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    o.topology = "default";
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

}  // namespace tier::test
