// The shim's rule parser (preload/rules.cpp): sizes and units, conditions, the placement
// spellings mapped onto libtier's policy grammar, errors that name line and column, and
// resolution against the `default` emulated preset (hbm, dram, cxl, pool).
#include <catch2/catch.hpp>

#include <string>

#include "rules.hpp"
#include "tier/tier.h"

using tier::preload::parse_rules;
using tier::preload::parse_size;
using tier::preload::resolve_rules;

namespace {

constexpr size_t kKiB = 1024, kMiB = kKiB * 1024;

struct Rt {
  tier_runtime *rt = nullptr;
  Rt() {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    o.topology = "default";
    REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  }
  ~Rt() { tier_runtime_destroy(rt); }
  int node_of_kind(tier_node_kind kind) const {
    for (int i = 0; i < tier_node_count(rt); ++i) {
      tier_node_info info{};
      info.size = sizeof info;
      REQUIRE(tier_node_at(rt, i, &info) == TIER_OK);
      if (info.kind == kind) return info.id;
    }
    FAIL("no node of kind " << kind);
    return -1;
  }
};

std::string error_of(const tier_runtime *rt, const std::string &text) {
  auto r = parse_rules(rt, text, "TIER_PRELOAD");
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("sizes take binary and decimal units") {
  CHECK(*parse_size("0") == 0);
  CHECK(*parse_size("4096") == 4096);
  CHECK(*parse_size("64KiB") == 64 * kKiB);
  CHECK(*parse_size("64K") == 64 * kKiB);
  CHECK(*parse_size("1MiB") == kMiB);
  CHECK(*parse_size("2M") == 2 * kMiB);
  CHECK(*parse_size("3GiB") == 3ull << 30);
  CHECK(*parse_size("1TiB") == 1ull << 40);
  CHECK(*parse_size("5MB") == 5000000);
  CHECK(*parse_size("7kB") == 7000);
  CHECK_FALSE(parse_size("MiB"));
  CHECK_FALSE(parse_size("12 parsecs"));
  CHECK_FALSE(parse_size("99999999999999999999"));
  CHECK_FALSE(parse_size("20000000TiB"));  // overflows 64 bits
}

TEST_CASE("the issue's example parses into two rules, first match wins") {
  Rt rt;
  auto r =
      parse_rules(rt.rt, "size>=1MiB:tier=cxl;size>=64KiB:interleave=dram:3,cxl:1", "TIER_PRELOAD");
  INFO((r ? "" : r.error().message));
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  const auto &cxl = (*r)[0];
  CHECK(cxl.min_size == kMiB);
  CHECK(cxl.max_size == SIZE_MAX);
  CHECK(cxl.policy_text == "preferred=cxl");
  CHECK(cxl.policy.mode == TIER_MODE_PREFERRED);
  CHECK(cxl.policy.select == TIER_SELECT_KIND);
  CHECK(cxl.policy.kind == TIER_KIND_CXL);
  const auto &mix = (*r)[1];
  CHECK(mix.policy_text == "weighted=dram:3,cxl:1");
  CHECK(mix.policy.mode == TIER_MODE_WEIGHTED_INTERLEAVE);
  REQUIRE(mix.policy.nnodes == 2);
  CHECK(mix.policy.nodes[0] == rt.node_of_kind(TIER_KIND_DRAM));
  CHECK(mix.policy.weights[0] == 3);
  CHECK(mix.policy.nodes[1] == rt.node_of_kind(TIER_KIND_CXL));
  CHECK(mix.policy.weights[1] == 1);
  CHECK(tier::preload::min_matching_size(*r) == 64 * kKiB);
  // First match wins: 2 MiB matches both, the first (cxl) takes it.
  CHECK((*r)[0].matches(2 * kMiB));
  CHECK_FALSE((*r)[0].matches(100 * kKiB));
  CHECK((*r)[1].matches(100 * kKiB));
  CHECK_FALSE((*r)[1].matches(64 * kKiB - 1));
  REQUIRE(resolve_rules(rt.rt, *r, "TIER_PRELOAD"));
  CHECK((*r)[0].placement != nullptr);
  CHECK((*r)[1].placement != nullptr);
}

TEST_CASE("conditions combine into a size range") {
  Rt rt;
  auto r = parse_rules(rt.rt, " size > 64KiB & size<1MiB : bind=dram ", "TIER_PRELOAD");
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].min_size == 64 * kKiB + 1);
  CHECK((*r)[0].max_size == kMiB - 1);
  CHECK((*r)[0].policy.mode == TIER_MODE_BIND);
  auto all = parse_rules(rt.rt, "all:tier=tier:1", "TIER_PRELOAD");
  REQUIRE(all);
  CHECK((*all)[0].min_size == 0);
  CHECK((*all)[0].policy.select == TIER_SELECT_TIER);
  CHECK((*all)[0].policy.tier == 1);
  auto le = parse_rules(rt.rt, "size<=4K&size>=1K:tier=hbm,dram", "TIER_PRELOAD");
  REQUIRE(le);
  CHECK((*le)[0].min_size == 1024);
  CHECK((*le)[0].max_size == 4096);
  CHECK((*le)[0].policy.mode == TIER_MODE_PREFERRED_MANY);
}

TEST_CASE("a rule file: comments, newlines and the no-hugepage option") {
  Rt rt;
  const std::string text =
      "# big buffers to CXL, medium ones interleaved\n"
      "size>=1MiB : tier=cxl;no-hugepage\n"
      "\n"
      "size>=64KiB : weighted=dram:3,cxl:1   # 3:1\n";
  auto r = parse_rules(rt.rt, text, "rules.conf");
  INFO((r ? "" : r.error().message));
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  CHECK(((*r)[0].policy.flags & TIER_POLICY_NO_HUGEPAGE) != 0);
  CHECK(((*r)[1].policy.flags & TIER_POLICY_NO_HUGEPAGE) == 0);
}

TEST_CASE("bad rules are errors naming the line, the column and what is wrong") {
  Rt rt;
  std::string e = error_of(rt.rt, "size>=1MiB:tier=cxl;size>=64KB:tier=warp");
  CHECK(e.find("TIER_PRELOAD:1:32:") == 0);
  CHECK(e.find("unknown target `warp`") != std::string::npos);
  e = error_of(rt.rt, "size>=1MiB:tier=cxl;sise>=1:tier=cxl");
  CHECK(e.find("TIER_PRELOAD:1:21:") == 0);
  CHECK(e.find("unknown condition `sise>=1`") != std::string::npos);
  e = error_of(rt.rt, "size=>1MiB:tier=cxl");
  CHECK(e.find("unknown comparison `=>`") != std::string::npos);
  e = error_of(rt.rt, "size>=1parsec:tier=cxl");
  CHECK(e.find("TIER_PRELOAD:1:7:") == 0);
  CHECK(e.find("unknown size unit `parsec`") != std::string::npos);
  e = error_of(rt.rt, "tier=cxl");
  CHECK(e.find("expected `condition:placement`") != std::string::npos);
  e = error_of(rt.rt, "size>=1MiB:");
  CHECK(e.find("expected a placement") != std::string::npos);
  e = error_of(rt.rt, "size>=1MiB&size<1KiB:tier=cxl");
  CHECK(e.find("no size satisfies") != std::string::npos);
  e = error_of(rt.rt, "no-hugepage;size>=1MiB:tier=cxl");
  CHECK(e.find("must follow") != std::string::npos);
  e = error_of(rt.rt, "size>=1MiB:preferred=cxl:2");
  CHECK(e.find("weight is only allowed") != std::string::npos);
  e = error_of(rt.rt, "size>=1MiB:interleave=dram:0,cxl:1");
  CHECK(e.find("out of range") != std::string::npos);
  e = error_of(rt.rt, "# nothing but a comment\n");
  CHECK(e.find("no rules") != std::string::npos);
  e = error_of(rt.rt, "size>=1MiB:tier=cxl\nsize>=2MiB:tier=cxl\nsize>=1KiB:bind=99:1");
  CHECK(e.find("TIER_PRELOAD:3:12:") == 0);
}

TEST_CASE("resolution rejects a node the topology does not have") {
  Rt rt;
  auto r = parse_rules(rt.rt, "size>=1MiB:bind=42", "TIER_PRELOAD");
  REQUIRE(r);  // syntax is fine: node numbers are checked against the topology on resolution
  auto st = resolve_rules(rt.rt, *r, "TIER_PRELOAD");
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("rule 1 `size>=1MiB:bind=42`") != std::string::npos);
}

TEST_CASE("kinds with weights need a runtime to expand") {
  auto r = parse_rules(nullptr, "size>=1MiB:interleave=dram:3,cxl:1", "TIER_PRELOAD");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("needs a runtime") != std::string::npos);
}
