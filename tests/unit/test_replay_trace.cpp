// tier-replay's input side: the strict Mooncake JSON-lines parser (good and malformed lines,
// errors naming line and member), the workload built from a trace, trace variants, and the
// MoE popularity reader and its seeded routing draws.
#include <catch2/catch.hpp>

#include <sstream>

#include "moe.hpp"
#include "trace.hpp"
#include "workload.hpp"

using namespace tier::replay;

namespace {
std::string parse_error(const std::string &line) {
  auto r = parse_request(line, "t.jsonl", 7);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}
}  // namespace

TEST_CASE("a well-formed trace line parses into a request") {
  auto r = parse_request(
      R"({"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 1]})",
      "t.jsonl", 1);
  REQUIRE(r.ok());
  CHECK(r->timestamp_ms == 27482);
  CHECK(r->input_length == 6955);
  CHECK(r->output_length == 52);
  CHECK(r->hash_ids == std::vector<uint64_t>{46, 47, 1});
  // Member order is free, whitespace is JSON's, an empty id list is a valid (empty) prompt.
  auto s = parse_request(
      " {\"hash_ids\":[],\"output_length\":0,\"input_length\":0,\"timestamp\":1.5} ", "t", 1);
  REQUIRE(s.ok());
  CHECK(s->timestamp_ms == 1.5);
  CHECK(s->hash_ids.empty());
}

TEST_CASE("malformed trace lines are refused with the line and the member named") {
  CHECK(parse_error(R"({"timestamp": 0, "input_length": 1, "output_length": 1})") ==
        "t.jsonl:7: missing member \"hash_ids\"");
  CHECK(
      parse_error(R"({"timestamp": 0, "input_length": -1, "output_length": 1, "hash_ids": []})") ==
      "t.jsonl:7: member \"input_length\" must be a non-negative integer");
  CHECK(
      parse_error(R"({"timestamp": 0, "input_length": 1.5, "output_length": 1, "hash_ids": []})") ==
      "t.jsonl:7: member \"input_length\" must be a non-negative integer");
  CHECK(
      parse_error(R"({"timestamp": "0", "input_length": 1, "output_length": 1, "hash_ids": []})") ==
      "t.jsonl:7: member \"timestamp\" must be a non-negative number");
  CHECK(parse_error(
            R"({"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1, "x"]})") ==
        "t.jsonl:7: hash_ids[1] must be a non-negative integer");
  CHECK(parse_error(R"({"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": 3})") ==
        "t.jsonl:7: member \"hash_ids\" must be an array");
  CHECK(parse_error(
            R"({"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [], "x": 1})") ==
        "t.jsonl:7: unknown member \"x\"");
  CHECK(parse_error(R"({"timestamp": 0, "timestamp": 1})") ==
        "t.jsonl:7: column 29: member \"timestamp\" appears twice");
  CHECK(parse_error(R"([1, 2])") == "t.jsonl:7: expected an object, found an array");
  CHECK(parse_error(R"({"timestamp": 0,)") ==
        "t.jsonl:7: column 17: expected a member name in quotes");
  CHECK(parse_error(R"({"timestamp": 01})") == "t.jsonl:7: column 15: leading zero in a number");
  CHECK(parse_error(R"({"a": 1} x)") == "t.jsonl:7: column 10: unexpected text after the value");
  CHECK(parse_error("") == "t.jsonl:7: column 1: expected a value, found the end of the text");
}

TEST_CASE("a trace stream skips blank lines and stops at the first bad line") {
  std::istringstream good(
      "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\n"
      "\n"
      "{\"timestamp\": 10, \"input_length\": 900, \"output_length\": 5, \"hash_ids\": [0, 1]}\n");
  auto t = parse_trace(good, "mem");
  REQUIRE(t.ok());
  CHECK(t->requests.size() == 2);

  std::istringstream bad(
      "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\n"
      "\n"
      "{\"timestamp\": 10, \"input_length\": 900, \"output_length\": 5, \"hash_ids\": [0, 1}\n");
  auto e = parse_trace(bad, "mem");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message == "mem:3: column 77: expected ',' or ']' in an array");

  std::istringstream empty("\n\n");
  CHECK_FALSE(parse_trace(empty, "mem").ok());
  CHECK_FALSE(load_trace("/nonexistent/trace.jsonl").ok());
}

TEST_CASE("a trace becomes epochs of dense block references") {
  Trace t;
  t.name = "tiny";
  t.requests = {{0, 1024, 1, {100, 7}}, {1, 1536, 1, {100, 7, 9}}, {2, 512, 1, {5}}};
  Workload w = kv_workload(t);
  CHECK(w.object_bytes == 64ull << 20);  // 512 tokens x 128 KiB
  CHECK(w.objects == 4);
  CHECK(w.refs == std::vector<uint32_t>{0, 1, 0, 1, 2, 3});
  CHECK(w.epoch_end == std::vector<uint64_t>{2, 5, 6});
  Workload two = kv_workload(t, 1024, 2);
  CHECK(two.object_bytes == 512 * 1024);
  CHECK(two.epoch_end == std::vector<uint64_t>{5, 6});

  CHECK(every_kth(t, 2, 0).requests.size() == 2);
  CHECK(every_kth(t, 2, 1).requests.size() == 1);
  CHECK(tail_from(t, 0.5).requests.front().hash_ids == std::vector<uint64_t>{100, 7, 9});
}

TEST_CASE("MoE popularity files parse strictly and routing draws are seeded") {
  const std::string text =
      R"({"total_input_tokens": 10, "expert_popularity": [[90, 10, 0, 0], [0, 0, 50, 50]]})";
  auto p = parse_popularity(text, "pop.json");
  REQUIRE(p.ok());
  CHECK(p->counts.size() == 2);
  CHECK_FALSE(
      parse_popularity(R"({"total_input_tokens": 1, "expert_popularity": [[1, 2], [1]]})", "x")
          .ok());
  auto neg = parse_popularity(R"({"total_input_tokens": 1, "expert_popularity": [[1, -2]]})", "x");
  REQUIRE_FALSE(neg.ok());
  CHECK(neg.error().message == "x: expert_popularity[0][1] must be a non-negative number");

  MoeOptions o;
  o.steps = 50;
  o.tokens_per_step = 1;
  auto a = moe_workload({*p}, o), b = moe_workload({*p}, o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->refs == b->refs);  // deterministic
  CHECK(a->objects == 8);
  CHECK(a->epochs() == 50);
  // Top-2 of distinct experts: with one token, each layer references exactly two experts, and
  // experts with no routed tokens (layer 0: experts 2, 3; layer 1: 0, 1) are never drawn.
  CHECK(a->refs.size() == 50 * 2 * 2);
  for (uint32_t r : a->refs) CHECK((r == 0 || r == 1 || r == 6 || r == 7));
  o.seed = 7;
  auto c = moe_workload({*p}, o);
  REQUIRE(c.ok());
  CHECK(c->refs.size() == a->refs.size());
}
