// Bad input gets the precise status and a message naming the field and value; foreign, freed
// and interior pointers are refused without touching them; OS failures injected through the
// prim seam come back as a status, never a crash.
#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "prim/os.hpp"
#include "tier/tier.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

struct Rt {
  tier_runtime *rt = nullptr;
  explicit Rt(const char *topology = "default") {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    o.topology = topology;
    REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  }
  ~Rt() { tier_runtime_destroy(rt); }
};

bool last_error_has(const char *needle) {
  return std::string(tier_last_error()).find(needle) != std::string::npos;
}

void expect_malloc_fails(tier_runtime *rt, const tier_policy &p, tier_status status,
                         const char *needle) {
  REQUIRE(tier_malloc(rt, 64, &p) == nullptr);
  INFO(tier_last_error());
  REQUIRE(tier_last_status() == status);
  REQUIRE(last_error_has(needle));
}

}  // namespace

TEST_CASE("invalid policies name the field and value") {
  Rt r;
  // A C caller can store any int in an enum field; set them bytewise (a C++ cast to an
  // out-of-range enum value would itself be undefined).
  auto set_raw = [](auto &field, int v) { std::memcpy(&field, &v, sizeof v); };
  tier_policy p = TIER_POLICY_INIT;
  set_raw(p.mode, 9);
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.mode = 9");

  p = TIER_POLICY_INIT;
  set_raw(p.select, 42);
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.select = 42");

  p = TIER_POLICY_INIT;
  p.select = TIER_SELECT_NODES;
  p.nnodes = 0;
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.nnodes = 0");
  p.nnodes = 17;
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.nnodes = 17");

  p.nnodes = 1;
  p.nodes[0] = 42;
  expect_malloc_fails(r.rt, p, TIER_ENODEV, "policy.nodes[0] = 42");

  p.nnodes = 2;
  p.nodes[0] = 0;
  p.nodes[1] = 0;
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.nodes[1] = 0: listed twice");

  p.mode = TIER_MODE_WEIGHTED_INTERLEAVE;
  p.nodes[1] = 1;
  p.weights[0] = 1;
  p.weights[1] = 0;
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.weights[1] = 0");

  p = TIER_POLICY_INIT;
  p.select = TIER_SELECT_TIER;
  p.tier = 7;
  expect_malloc_fails(r.rt, p, TIER_ENODEV, "policy.tier = 7");

  p = TIER_POLICY_INIT;
  p.flags = 0x80;
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.flags = 0x80");

  p = TIER_POLICY_INIT;
  p.size = 8;
  expect_malloc_fails(r.rt, p, TIER_EINVAL, "policy.size = 8");

  Rt machine("machine");
  p = TIER_POLICY_INIT;
  p.select = TIER_SELECT_KIND;
  p.kind = TIER_KIND_HBM;
  expect_malloc_fails(machine.rt, p, TIER_ENODEV, "policy.kind = hbm");
}

TEST_CASE("invalid sizes, alignments and handles") {
  Rt r;
  REQUIRE(tier_malloc(nullptr, 64, nullptr) == nullptr);
  REQUIRE(tier_last_status() == TIER_EINVAL);
  REQUIRE(last_error_has("runtime is NULL"));

  REQUIRE(tier_aligned_alloc(r.rt, 3, 64, nullptr) == nullptr);
  REQUIRE(tier_last_status() == TIER_EINVAL);
  REQUIRE(last_error_has("alignment 3"));
  REQUIRE(tier_aligned_alloc(r.rt, 4 * kMiB, 64, nullptr) == nullptr);
  REQUIRE(last_error_has("exceeds the 2 MiB maximum"));

  REQUIRE(tier_calloc(r.rt, SIZE_MAX / 2, 4, nullptr) == nullptr);
  REQUIRE(tier_last_status() == TIER_EINVAL);
  REQUIRE(last_error_has("overflows"));

  REQUIRE(tier_malloc(r.rt, SIZE_MAX - 10, nullptr) == nullptr);
  REQUIRE(tier_last_status() == TIER_EINVAL);
  REQUIRE(last_error_has("exceeds"));

  // Larger than every node together: a full-tiers error, not bad input.
  REQUIRE(tier_malloc(r.rt, size_t{1} << 45, nullptr) == nullptr);
  REQUIRE(tier_last_status() == TIER_ENOMEM);

  Rt other;
  tier_placement *foreign_pl = tier_placement_get(other.rt, nullptr);
  REQUIRE(tier_malloc_p(r.rt, 64, foreign_pl) == nullptr);
  REQUIRE(last_error_has("another runtime"));

  tier_node_info info{};
  info.size = sizeof info;
  REQUIRE(tier_node_get(r.rt, 99, &info) == TIER_ENODEV);
  REQUIRE(tier_node_at(r.rt, -1, &info) == TIER_ENODEV);
  info.size = 3;
  REQUIRE(tier_node_at(r.rt, 0, &info) == TIER_EINVAL);
  tier_node_stats s{};
  REQUIRE(tier_node_stats_get(r.rt, 0, &s) == TIER_EINVAL);
  REQUIRE(last_error_has("out->size = 0"));
  s.size = sizeof s;
  REQUIRE(tier_tier_stats_get(r.rt, 99, &s) == TIER_ENODEV);
  tier_where_result w{};
  REQUIRE(tier_where(r.rt, &w, 1, &w) == TIER_EINVAL);

  // Zero bytes still gives a unique, freeable pointer.
  void *z1 = tier_malloc(r.rt, 0, nullptr);
  void *z2 = tier_malloc(r.rt, 0, nullptr);
  REQUIRE(z1 != nullptr);
  REQUIRE(z1 != z2);
  REQUIRE(tier_free(r.rt, z1) == TIER_OK);
  REQUIRE(tier_free(r.rt, z2) == TIER_OK);
}

TEST_CASE("foreign, freed and interior pointers are refused and left alone") {
  Rt r;
  void *foreign = std::malloc(128);
  std::memset(foreign, 9, 128);
  REQUIRE(tier_owns(r.rt, foreign) == 0);
  REQUIRE(tier_free(r.rt, foreign) == TIER_ENOTOWNED);
  REQUIRE(last_error_has("was not allocated by this runtime"));
  REQUIRE(static_cast<unsigned char *>(foreign)[127] == 9);
  REQUIRE(tier_usable_size(r.rt, foreign) == 0);
  REQUIRE(tier_realloc(r.rt, foreign, 256) == nullptr);
  REQUIRE(tier_last_status() == TIER_ENOTOWNED);
  std::free(foreign);
  int on_stack = 0;
  REQUIRE(tier_owns(r.rt, &on_stack) == 0);
  REQUIRE(tier_owns(r.rt, nullptr) == 0);
  REQUIRE(tier_owns(r.rt, reinterpret_cast<void *>(~uintptr_t{0} - 4095)) == 0);
  REQUIRE(tier_free(r.rt, nullptr) == TIER_OK);

  // Another runtime's memory is not ours either.
  Rt other;
  void *theirs = tier_malloc(other.rt, 64, nullptr);
  REQUIRE(tier_owns(r.rt, theirs) == 0);
  REQUIRE(tier_owns(other.rt, theirs) == 1);
  REQUIRE(tier_free(r.rt, theirs) == TIER_ENOTOWNED);
  REQUIRE(tier_free(other.rt, theirs) == TIER_OK);

  char *big = static_cast<char *>(tier_malloc(r.rt, 4 * kMiB, nullptr));
  REQUIRE(big != nullptr);
  REQUIRE(tier_owns(r.rt, big + 3 * kMiB) == 1);
  REQUIRE(tier_free(r.rt, big + 3 * kMiB) == TIER_EINVAL);
  REQUIRE(last_error_has("inside an allocation"));
  REQUIRE(tier_free(r.rt, big) == TIER_OK);
  REQUIRE(tier_free(r.rt, big) == TIER_EINVAL);
  REQUIRE(last_error_has("already freed"));
}

TEST_CASE("policy text: parse, format and errors with a column") {
  Rt r;
  tier_policy p;
  REQUIRE(tier_policy_parse(r.rt, "bind=tier:1", &p) == TIER_OK);
  REQUIRE(p.mode == TIER_MODE_BIND);
  REQUIRE(p.select == TIER_SELECT_TIER);
  REQUIRE(p.tier == 1);
  REQUIRE(tier_policy_parse(nullptr, "preferred=hbm", &p) == TIER_OK);
  REQUIRE(p.select == TIER_SELECT_KIND);
  REQUIRE(p.kind == TIER_KIND_HBM);
  REQUIRE(tier_policy_parse(nullptr, "preferred-many", &p) == TIER_OK);
  REQUIRE(p.select == TIER_SELECT_FASTEST);
  REQUIRE(tier_policy_parse(nullptr, "weighted=0:3,2:1", &p) == TIER_OK);
  REQUIRE(p.select == TIER_SELECT_NODES);
  REQUIRE(p.nnodes == 2);
  REQUIRE(p.weights[0] == 3);
  REQUIRE(p.weights[1] == 1);
  REQUIRE(tier_policy_parse(r.rt, "interleave=dram,cxl", &p) == TIER_OK);
  REQUIRE(p.nnodes == 2);

  const char *round_trip[] = {"preferred=fastest",
                              "bind=tier:2",
                              "interleave=0,2",
                              "weighted=0:3,2:1",
                              "preferred=cxl-pool",
                              "bind=largest;no-hugepage",
                              "preferred-many=lowest-latency",
                              "bind=highest-bandwidth"};
  for (const char *text : round_trip) {
    INFO(text);
    REQUIRE(tier_policy_parse(nullptr, text, &p) == TIER_OK);
    char buf[128];
    int n = tier_policy_format(&p, buf, sizeof buf);
    REQUIRE(n == static_cast<int>(std::strlen(text)));
    REQUIRE(std::string(buf) == text);
  }
  char tiny[4];
  REQUIRE(tier_policy_parse(nullptr, "bind=tier:2", &p) == TIER_OK);
  REQUIRE(tier_policy_format(&p, tiny, sizeof tiny) == 11);
  REQUIRE(std::string(tiny) == "bin");

  struct Bad {
    const char *text;
    const char *needle;
  } bad[] = {
      {"foo", "column 1: unknown mode `foo`"},
      {"bind=tier:x", "column 11: expected a tier number"},
      {"bind=tier", "column 10: expected `:`"},
      {"bind=", "column 6: expected a target"},
      {"bind=gpu", "column 6: unknown target `gpu`"},
      {"interleave=0:2", "column 14: a weight is only allowed with the `weighted` mode"},
      {"weighted=0:300", "column 12: weight 300 out of range"},
      {"bind=0,0", "column 8: `0` names node 0 again"},
      {"bind=0;huge", "column 8: unknown option `huge`"},
      {"bind=0 ", "column 7: unexpected ` `"},
  };
  for (const Bad &b : bad) {
    INFO(b.text << " -> " << tier_last_error());
    REQUIRE(tier_policy_parse(r.rt, b.text, &p) == TIER_EINVAL);
    REQUIRE(last_error_has(b.needle));
  }
  REQUIRE(tier_policy_parse(nullptr, "weighted=dram:3,cxl:1", &p) == TIER_EINVAL);
  REQUIRE(last_error_has("needs a runtime"));
  REQUIRE(tier_policy_parse(r.rt, nullptr, &p) == TIER_EINVAL);
}

TEST_CASE("runtime options are checked") {
  tier_runtime *rt = nullptr;
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.size = 4;
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_EINVAL);
  REQUIRE(last_error_has("tier_runtime_options.size = 4"));
  REQUIRE(rt == nullptr);
  o = TIER_RUNTIME_OPTIONS_INIT;
  o.flags = 0x100;
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_EINVAL);
  o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "no-such-preset";
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_ETOPOLOGY);
  REQUIRE(last_error_has("no-such-preset"));
  REQUIRE(tier_runtime_create(nullptr, nullptr) == TIER_EINVAL);
}

namespace {

const tier::prim::Ops *g_saved = nullptr;
int failing_mbind(void *, size_t, int, const unsigned long *, unsigned long, unsigned) {
  return EIO;
}
int failing_map(void *, size_t, int, int, void **) {
  return ENOMEM;
}

}  // namespace

TEST_CASE("OS failures injected through the prim seam become statuses") {
  Rt r;
  const tier::prim::Ops &current = tier::prim::ops();
  g_saved = &current;
  static tier::prim::Ops broken_mbind;
  broken_mbind = current;
  broken_mbind.name = "test-mbind-fails";
  broken_mbind.mbind = failing_mbind;
  REQUIRE(tier::prim::set_ops(&broken_mbind).ok());
  void *p = tier_malloc(r.rt, 8 * kMiB, nullptr);
  tier_status st = tier_last_status();
  std::string msg = tier_last_error();
  int err = tier_last_errno();
  REQUIRE(tier::prim::set_ops(nullptr).ok());
  REQUIRE(p == nullptr);
  REQUIRE(st == TIER_EOS);
  REQUIRE(err == EIO);
  REQUIRE(msg.find("mbind") != std::string::npos);

  static tier::prim::Ops broken_map;
  broken_map = tier::prim::linux_ops();
  broken_map.name = "test-mmap-fails";
  broken_map.map = failing_map;
  REQUIRE(tier::prim::set_ops(&broken_map).ok());
  p = tier_malloc(r.rt, 8 * kMiB, nullptr);
  st = tier_last_status();
  REQUIRE(tier::prim::set_ops(nullptr).ok());
  REQUIRE(p == nullptr);
  REQUIRE(st == TIER_ENOMEM);

  // The node's capacity was given back: a later allocation works.
  p = tier_malloc(r.rt, 8 * kMiB, nullptr);
  REQUIRE(p != nullptr);
  REQUIRE(tier_free(r.rt, p) == TIER_OK);

  tier::prim::Ops wrong_version = tier::prim::linux_ops();
  wrong_version.version = 99;
  auto refused = tier::prim::set_ops(&wrong_version);
  REQUIRE(!refused.ok());
  REQUIRE(refused.error().message.find("version 99") != std::string::npos);
  REQUIRE(&tier::prim::ops() == &tier::prim::linux_ops());
}
