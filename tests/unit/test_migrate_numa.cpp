// The NUMA mover against the mover contract: a fault-injecting prim::Ops wrapper plays a
// two-node kernel (page -> node map, EBUSY / ENOMEM per page, pages never faulted in) so that
// batching, sorting by target, skipping, retries, failure reports and the byte-rate limit are
// all observable on a one-node machine; then real move_pages(2) on this machine and on a pid.
#include <catch2/catch.hpp>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "migrate/mover.hpp"
#include "prim/os.hpp"

using namespace tier;
using namespace tier::migrate;

namespace {

constexpr size_t kPage = 4096;

// A fake kernel: the node of every page, injected per-page errors, and a log of calls.
struct FakeKernel {
  std::mutex mu;
  std::map<uintptr_t, int> node;             // absent = never faulted in
  std::map<uintptr_t, int> busy_left;        // page -> EBUSY answers still to give (-1 = forever)
  std::set<uintptr_t> nomem;                 // pages whose move fails with ENOMEM
  std::vector<std::vector<int>> move_calls;  // targets of each moving call
  size_t queries = 0;
};
FakeKernel *g_fake = nullptr;

int fake_move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status,
                    int flags, long *not_moved) {
  std::lock_guard lock(g_fake->mu);
  *not_moved = 0;
  if (!nodes) {
    ++g_fake->queries;
    for (unsigned long i = 0; i < count; ++i) {
      auto it = g_fake->node.find(reinterpret_cast<uintptr_t>(pages[i]));
      status[i] = it == g_fake->node.end() ? -ENOENT : it->second;
    }
    return 0;
  }
  g_fake->move_calls.emplace_back(nodes, nodes + count);
  for (unsigned long i = 0; i < count; ++i) {
    const auto p = reinterpret_cast<uintptr_t>(pages[i]);
    if (g_fake->nomem.count(p)) {
      status[i] = -ENOMEM;
      ++*not_moved;
      continue;
    }
    auto b = g_fake->busy_left.find(p);
    if (b != g_fake->busy_left.end() && b->second != 0) {
      if (b->second > 0) --b->second;
      status[i] = -EBUSY;
      ++*not_moved;
      continue;
    }
    g_fake->node[p] = nodes[i];
    status[i] = nodes[i];
  }
  return 0;
}

struct FakeScope {
  FakeKernel kernel;
  prim::Ops ops;
  const prim::Ops *previous = nullptr;
  FakeScope() {
    g_fake = &kernel;
    ops = prim::linux_ops();
    ops.name = "fake-two-node";
    ops.move_pages = fake_move_pages;
    static prim::Ops storage;  // a table must outlive its installation
    storage = ops;
    auto r = prim::set_ops(&storage);
    REQUIRE(r.ok());
    previous = *r;
  }
  ~FakeScope() {
    (void)prim::set_ops(previous);
    g_fake = nullptr;
  }
  // `pages` fake pages at a made-up page-aligned address, all on `on`.
  uintptr_t place(uintptr_t base, size_t pages, int on) {
    for (size_t i = 0; i < pages; ++i) kernel.node[base + i * kPage] = on;
    return base;
  }
};

uint64_t accounted(const MoveStats &s) {
  return s.pages_moved + s.pages_skipped + s.pages_absent + s.pages_failed;
}

}  // namespace

TEST_CASE("numa mover: moves pages, skips those already on the target, batches by target") {
  FakeScope fake;
  const uintptr_t a = fake.place(0x10000000, 1000, 0);  // 1000 pages on node 0
  const uintptr_t b = fake.place(0x20000000, 600, 1);   // 600 pages already on node 1
  const uintptr_t c = fake.place(0x30000000, 300, 1);   // 300 pages on node 1 -> node 0
  Result<Mover> m = Mover::numa();
  REQUIRE(m.ok());
  std::vector<MoveRange> ranges = {
      {a, 1000 * kPage, 0, 1, 7}, {b, 600 * kPage, 1, 1, 8}, {c, 300 * kPage, 1, 0, 9}};
  std::vector<RangeOutcome> out;
  MoveStats st;
  REQUIRE(m->move(ranges, &out, &st).ok());

  CHECK(out[0].outcome == Outcome::kMoved);
  CHECK(out[0].chunk == 7);
  CHECK(out[0].bytes_moved == 1000 * kPage);
  CHECK(out[1].outcome == Outcome::kInPlace);
  CHECK(out[1].bytes_moved == 0);
  CHECK(out[2].outcome == Outcome::kMoved);
  CHECK(st.pages_moved == 1300);
  CHECK(st.pages_skipped == 600);
  CHECK(st.bytes_moved == 1300 * kPage);
  CHECK(accounted(st) == 1900);
  for (size_t i = 0; i < 1000; ++i) CHECK(fake.kernel.node[a + i * kPage] == 1);
  for (size_t i = 0; i < 300; ++i) CHECK(fake.kernel.node[c + i * kPage] == 0);

  // Batches of at most 512 pages, sorted by target: the node-0 pages come first, and no call
  // mixes targets except at the boundary between two targets' runs.
  int last_target = -1;
  size_t moved_pages = 0;
  for (const std::vector<int> &call : fake.kernel.move_calls) {
    CHECK(call.size() <= 512);
    for (int t : call) {
      CHECK(t >= last_target);
      last_target = t;
    }
    moved_pages += call.size();
  }
  CHECK(moved_pages == 1300);                 // the 600 in-place pages were never handed to a move
  CHECK(fake.kernel.move_calls.size() == 3);  // 1300 pages = 3 batches of <= 512
}

TEST_CASE("numa mover: EBUSY is retried a bounded number of times, ENOMEM is reported") {
  FakeScope fake;
  const uintptr_t a = fake.place(0x10000000, 64, 0);
  fake.kernel.busy_left[a + 3 * kPage] = 2;   // busy twice, then moves
  fake.kernel.busy_left[a + 5 * kPage] = -1;  // busy forever
  fake.kernel.nomem.insert(a + 9 * kPage);    // no memory on the target
  NumaMoverOptions o;
  o.max_retries = 3;
  o.retry_backoff_us = 1;
  Result<Mover> m = Mover::numa(o);
  REQUIRE(m.ok());
  std::vector<RangeOutcome> out;
  MoveStats st;
  REQUIRE(m->move({{a, 64 * kPage, 0, 1, 1}}, &out, &st).ok());
  CHECK(out[0].outcome == Outcome::kPartial);
  CHECK(out[0].pages_failed == 2);
  CHECK((out[0].error == EBUSY || out[0].error == ENOMEM));
  CHECK(st.pages_failed == 2);
  CHECK(st.pages_moved == 62);
  CHECK(fake.kernel.node[a + 3 * kPage] == 1);
  CHECK(fake.kernel.node[a + 5 * kPage] == 0);
  CHECK(fake.kernel.node[a + 9 * kPage] == 0);
  // Page 5 was retried max_retries times, page 3 twice; page 9 (ENOMEM) never.
  CHECK(st.pages_retried == 3 + 2);
  CHECK(accounted(st) == 64);
}

TEST_CASE("numa mover: pages never faulted in are absent, not failed; bad ranges fail") {
  FakeScope fake;
  const uintptr_t a = fake.place(0x10000000, 8, 0);  // pages 8..15 of the range do not exist
  Result<Mover> m = Mover::numa();
  REQUIRE(m.ok());
  std::vector<RangeOutcome> out;
  MoveStats st;
  REQUIRE(m->move({{a, 16 * kPage, 0, 1, 1}, {a + 1, kPage, 0, 1, 2}}, &out, &st).ok());
  CHECK(out[0].outcome == Outcome::kMoved);
  CHECK(st.pages_absent == 8);
  CHECK(st.pages_moved == 8);
  CHECK(out[1].outcome == Outcome::kFailed);  // not page-aligned
  CHECK(out[1].error == EINVAL);
  CHECK(accounted(st) == 17);
}

TEST_CASE("numa mover: the byte-rate limit is honoured") {
  FakeScope fake;
  const size_t pages = 2048;  // 8 MiB
  const uintptr_t a = fake.place(0x10000000, pages, 0);
  NumaMoverOptions o;
  o.rate.bytes_per_second = 16ull << 20;  // 16 MiB/s
  o.rate.burst_bytes = 2ull << 20;        // 2 MiB at full speed first
  o.batch_pages = 128;
  Result<Mover> m = Mover::numa(o);
  REQUIRE(m.ok());
  std::vector<RangeOutcome> out;
  MoveStats st;
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(m->move({{a, pages * kPage, 0, 1, 1}}, &out, &st).ok());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // (8 MiB - 2 MiB burst) / 16 MiB/s = 0.375 s at least; and not wildly more.
  CHECK(s >= 0.37);
  CHECK(s < 2.0);
  CHECK(st.throttled_ns > 0);
  CHECK(st.pages_moved == pages);
}

TEST_CASE("numa mover: real move_pages on this machine, for this process and by pid") {
  const size_t len = 4 << 20;
  void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  std::memset(p, 0x5a, len / 2);  // the second half is never faulted in
  void *first = p;
  int node = -1;
  REQUIRE(prim::query_nodes(&first, 1, &node).ok());
  REQUIRE(node >= 0);
  for (int pid : {0, static_cast<int>(getpid())}) {
    NumaMoverOptions o;
    o.pid = pid;
    Result<Mover> m = Mover::numa(o);
    REQUIRE(m.ok());
    std::vector<RangeOutcome> out;
    MoveStats st;
    REQUIRE(m->move({{reinterpret_cast<uintptr_t>(p), len, node, node, 1}}, &out, &st).ok());
    CHECK(out[0].outcome == Outcome::kInPlace);
    CHECK(st.pages_skipped == len / 2 / kPage);
    CHECK(st.pages_absent == len / 2 / kPage);
    CHECK(st.pages_failed == 0);
    CHECK(st.bytes_moved == 0);
  }
  // A node that does not exist: every resident page is reported failed, none lost.
  Result<Mover> m = Mover::numa();
  REQUIRE(m.ok());
  std::vector<RangeOutcome> out;
  MoveStats st;
  REQUIRE(m->move({{reinterpret_cast<uintptr_t>(p), len, node, 1000, 1}}, &out, &st).ok());
  CHECK(out[0].outcome == Outcome::kFailed);
  CHECK(out[0].error != 0);
  CHECK(st.pages_failed == len / 2 / kPage);
  CHECK(accounted(st) == len / kPage);
  for (size_t i = 0; i < len / 2; ++i) REQUIRE(static_cast<unsigned char *>(p)[i] == 0x5a);
  munmap(p, len);
}
