// The synthetic workload family and its judge: a (shape, seed) pair is one workload, seeds
// differ, every shape has the structure it claims, and the judge compares on total time.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>

#include "cost.hpp"
#include "family.hpp"
#include "generate.hpp"

using namespace tier::replay;

TEST_CASE("generate: a shape and seed always give the same workload; seeds differ") {
  for (const std::string &shape : generated_shapes()) {
    INFO(shape);
    auto a = generate({shape, 7, 0.2}), b = generate({shape, 7, 0.2}),
         c = generate({shape, 8, 0.2});
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(c.ok());
    CHECK(a->refs == b->refs);
    CHECK(a->epoch_end == b->epoch_end);
    CHECK(a->refs != c->refs);
    CHECK(a->objects > 0);
    CHECK(a->epochs() > 0);
    for (uint32_t r : a->refs) REQUIRE(r < a->objects);
  }
}

TEST_CASE("generate: KV shapes share prefixes; MoE shapes route top-k per layer") {
  auto chat = generate({"chat", 3, 0.2});
  REQUIRE(chat.ok());
  CHECK(chat->kind == "kv");
  CHECK(chat->object_bytes == 64ull << 20);
  // Every request starts with the shared system prompt: object 0 is read by every epoch.
  uint64_t begin = 0, with_prompt = 0;
  for (uint64_t end : chat->epoch_end) {
    with_prompt += end > begin && chat->refs[begin] == 0;
    begin = end;
  }
  CHECK(with_prompt == chat->epochs());
  auto moe = generate({"moe-skewed-64-top2", 3, 0.2});
  REQUIRE(moe.ok());
  CHECK(moe->kind == "moe");
  CHECK(moe->objects == 64 * 24);
  // 16 tokens x top-2 in each of 24 layers: at most 32 distinct experts a layer, at least 2.
  const uint64_t first = moe->epoch_end[0];
  CHECK(first >= 2 * 24);
  CHECK(first <= 32 * 24);
}

TEST_CASE("generate: unknown shapes and bad seeds are refused with the known names") {
  auto bad = generate({"moe-hot-64-top2", 1, 1});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("chat") != std::string::npos);
  CHECK_FALSE(generate({"moe-skewed-64-top64", 1, 1}).ok());
  CHECK_FALSE(generate({"chat", 1, 0}).ok());
  CHECK_FALSE(parse_generated("chat:x1").ok());
  auto s = parse_generated("rag:42");
  REQUIRE(s.ok());
  CHECK(s->shape == "rag");
  CHECK(s->seed == 42);
}

TEST_CASE("family: the judge holds the default to the best baseline on total time") {
  auto model = TimeModel::make();
  REQUIRE(model.ok());
  FamilyOptions o;
  o.shapes = {"rag", "moe-drift-64-top2"};
  o.fractions = {0.05, 0.2};
  o.scale = 0.1;
  o.config.check = true;  // every snapshot validated, every plan checked against its contract
  std::ostringstream out;
  auto v = run_family(o, *model, false, out);
  INFO(out.str());
  REQUIRE(v.ok());
  CHECK(v->rows == 4);
  CHECK(v->worst_ratio > 0);
  CHECK(v->geomean_smallest > 0);
  CHECK(out.str().find(v->pass() ? "PASS" : "FAIL") != std::string::npos);
  // Candidate = a baseline: it cannot be worse than the best baseline.
  o.candidate = "first-touch";
  o.baselines = {"first-touch"};
  std::ostringstream same;
  auto w = run_family(o, *model, false, same);
  REQUIRE(w.ok());
  CHECK(w->worst_ratio == Approx(1.0));
  CHECK(w->over_time == 0);
  CHECK(w->fewer_hits == 0);
}
