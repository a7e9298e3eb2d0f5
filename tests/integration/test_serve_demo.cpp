// tier-serve-demo end to end: a short run (a few dozen requests of the shared Mooncake trace
// with the Mixtral popularity data) must finish, and its --json report must be sane: hit
// ratios in [0, 1], each tier's use within its capacity, every KV block and expert accounted
// on some tier, bytes migrated by the agent, every block and expert byte intact. Skips (77)
// when the shared data is not beside the repository.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "json_reader.hpp"

using tier::workloads::JsonValue;

namespace {

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double num(const JsonValue &obj, const char *key) {
  const JsonValue *v = obj.find(key);
  REQUIRE(v != nullptr);
  REQUIRE(v->kind == JsonValue::kNumber);
  return v->number;
}

const JsonValue &member(const JsonValue &obj, const char *key) {
  const JsonValue *v = obj.find(key);
  REQUIRE(v != nullptr);
  return *v;
}

}  // namespace

TEST_CASE("tier-serve-demo serves a few requests and reports sane figures") {
  const char *demo = std::getenv("TIER_SERVE_DEMO");
  REQUIRE(demo != nullptr);
  const std::string out = "serve_demo_test.json", err = "serve_demo_test.err";
  const std::string cmd = std::string(demo) +
                          " --requests 24 --seconds 120 --quiet --json --topology default > " +
                          out + " 2> " + err;
  const int rc = std::system(cmd.c_str());
  const std::string errors = slurp(err);
  if (rc != 0 && errors.find("cannot find") != std::string::npos) {
    WARN("shared data missing: " << errors);
    std::exit(77);
  }
  INFO("stderr: " << errors);
  REQUIRE(rc == 0);

  auto doc = tier::workloads::parse_json(slurp(out));
  INFO("json: " << (doc.ok() ? std::string() : doc.error().message));
  REQUIRE(doc.ok());
  const JsonValue &j = *doc;
  CHECK(num(member(j, "requests"), "finished") == 24);
  CHECK(num(j, "steps") > 0);
  for (const char *k : {"kv", "experts", "all"}) {
    const JsonValue &h = member(member(j, "hit_ratio"), k);
    INFO(k);
    CHECK(num(h, "touches") > 0);
    CHECK(num(h, "ratio") >= 0);
    CHECK(num(h, "ratio") <= 1);
    CHECK(num(h, "byte_ratio") >= 0);
    CHECK(num(h, "byte_ratio") <= 1);
    CHECK(num(h, "fast") <= num(h, "touches"));
  }
  CHECK(num(j, "modelled_memory_s") > 0);
  CHECK(num(j, "modelled_all_on_slowest_s") > 0);
  CHECK(num(member(j, "migration"), "bytes_migrated") > 0);
  CHECK(num(j, "bad_pages") == 0);

  const JsonValue &tiers = member(j, "tiers");
  REQUIRE(tiers.kind == JsonValue::kArray);
  REQUIRE(!tiers.items.empty());
  double kv_blocks = 0, experts = 0;
  for (const JsonValue &t : tiers.items) {
    INFO("tier " << num(t, "tier"));
    CHECK(num(t, "used") <= num(t, "capacity"));
    kv_blocks += num(t, "kv_blocks");
    experts += num(t, "experts");
  }
  const JsonValue &moe = member(j, "moe");
  CHECK(experts == num(moe, "layers") * num(moe, "experts"));
  CHECK(kv_blocks > 0);
  CHECK(kv_blocks <= num(member(j, "kv"), "pool_blocks"));
}
