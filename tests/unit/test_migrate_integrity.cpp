// Integrity: a 256 MiB buffer moved between two emulated nodes 20 times back and forth (the
// emulated mover physically relocates every granule) while two threads keep writing it. Each
// writer owns every other word; before writing pass p into a word it checks that the word
// still holds what it wrote in pass p-1, so a single write lost by a relocation (written to the
// old pages after they were copied) or a stale copy is caught whenever it happens, not only at
// the end. A final sweep checks every word.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "migrate/mover.hpp"
#include "migrate/write_guard.hpp"
#include "tier/tier.h"

using namespace tier;
using namespace tier::migrate;

namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kGranule = 2 * kMiB;

uint64_t word(uint64_t writer, uint64_t pass, uint64_t index) {
  return (writer << 62) | ((pass & 0x3fffffff) << 32) | (index & 0xffffffff);
}

int node_of_kind(tier_runtime *rt, tier_node_kind kind) {
  for (int i = 0; i < tier_node_count(rt); ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    REQUIRE(tier_node_at(rt, i, &info) == TIER_OK);
    if (info.kind == kind) return info.id;
  }
  return -1;
}

}  // namespace

TEST_CASE("integrity: 256 MiB moved 20 round trips under two writers keeps every byte") {
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  tier_runtime *rt = nullptr;
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  const int a = node_of_kind(rt, TIER_KIND_DRAM), b = node_of_kind(rt, TIER_KIND_CXL);
  const size_t len = 256 * kMiB, words = len / 8;
  tier_policy pol = TIER_POLICY_INIT;
  pol.mode = TIER_MODE_BIND;
  pol.select = TIER_SELECT_NODES;
  pol.nnodes = 1;
  pol.nodes[0] = a;
  auto *buf = static_cast<uint64_t *>(tier_calloc(rt, 1, len, &pol));
  REQUIRE(buf != nullptr);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0};
  uint64_t passes[2] = {0, 0};
  auto writer = [&](uint64_t w) {
    uint64_t pass = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      ++pass;
      for (size_t i = w; i < words; i += 2) {
        const uint64_t expect = pass == 1 ? 0 : word(w, pass - 1, i);
        if (buf[i] != expect) errors.fetch_add(1, std::memory_order_relaxed);
        buf[i] = word(w, pass, i);
      }
    }
    passes[w] = pass;
  };
  const uint64_t waits0 = guard_waits();
  std::thread w0(writer, 0), w1(writer, 1);

  Result<Mover> m = Mover::emulated(rt);
  REQUIRE(m.ok());
  std::vector<MoveRange> there, back;
  for (size_t off = 0; off < len; off += kGranule) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(buf) + off;
    there.push_back({p, kGranule, a, b, off / kGranule});
    back.push_back({p, kGranule, b, a, off / kGranule});
  }
  MoveStats total;
  std::vector<RangeOutcome> out;
  for (int trip = 0; trip < 20; ++trip) {
    for (const auto *ranges : {&there, &back}) {
      MoveStats st;
      REQUIRE(m->move(*ranges, &out, &st).ok());
      REQUIRE(st.bytes_moved == len);
      REQUIRE(st.pages_failed == 0);
      total += st;
    }
  }
  stop = true;
  w0.join();
  w1.join();

  CHECK(errors.load() == 0);
  // Every word holds its writer's last pass.
  uint64_t bad = 0;
  for (size_t i = 0; i < words; ++i)
    if (buf[i] != word(i & 1, passes[i & 1], i)) ++bad;
  CHECK(bad == 0);
  CHECK(passes[0] >= 1);
  CHECK(passes[1] >= 1);
  CHECK(total.bytes_moved == 40 * len);
  WARN("moved " << total.bytes_moved / kMiB << " MiB in " << total.elapsed_ns / 1e9
                << " s; writer passes " << passes[0] << "+" << passes[1]
                << "; writes that waited for a relocation: " << guard_waits() - waits0);
  REQUIRE(tier_free(rt, buf) == TIER_OK);
  tier_runtime_destroy(rt);
}
