// The fault injector over the OS primitive seam: seeded and reproducible, the configured rates,
// per-page statuses as the kernel reports them, offline nodes, and clean install/uninstall.
// A recording fake table sits below the injector, so no NUMA hardware is needed.
#include <catch2/catch.hpp>

#include <cerrno>
#include <vector>

#include "emu/fault_injector.hpp"
#include "prim/os.hpp"

using namespace tier;
using namespace tier::emu;

namespace {

// The fake kernel: every move succeeds, mbind records its mask, mmap hands out a buffer.
unsigned long g_last_mask[prim::kMaxNodes / 64];
int g_mbind_calls = 0;
alignas(4096) char g_buffer[4096];

int fake_map(void *, size_t, int, int, void **out) {
  *out = g_buffer;
  return 0;
}
int fake_mbind(void *, size_t, int, const unsigned long *mask, unsigned long maxnode, unsigned) {
  ++g_mbind_calls;
  for (size_t i = 0; i < std::size(g_last_mask); ++i)
    g_last_mask[i] = mask && i * 64 < maxnode ? mask[i] : 0;
  return 0;
}
int fake_move_pages(int, unsigned long count, void **, const int *nodes, int *status, int,
                    long *not_moved) {
  for (unsigned long i = 0; i < count; ++i) status[i] = nodes ? nodes[i] : 0;
  *not_moved = 0;
  return 0;
}

const prim::Ops &fake_ops() {
  static prim::Ops t = [] {
    prim::Ops o = prim::linux_ops();
    o.name = "fake";
    o.map = fake_map;
    o.mbind = fake_mbind;
    o.move_pages = fake_move_pages;
    return o;
  }();
  return t;
}

struct FakeKernel {
  FakeKernel() { REQUIRE(prim::set_ops(&fake_ops()).ok()); }
  ~FakeKernel() { (void)prim::set_ops(nullptr); }
};

// Moves `n` fake pages to node 1 through the installed table; returns the statuses.
std::vector<int> move(size_t n, long *not_moved = nullptr) {
  std::vector<void *> pages(n);
  for (size_t i = 0; i < n; ++i) pages[i] = reinterpret_cast<void *>((i + 1) * 4096);
  std::vector<int> nodes(n, 1), status(n, 99);
  long nm = -1;
  REQUIRE(prim::ops().move_pages(0, n, pages.data(), nodes.data(), status.data(), 0, &nm) == 0);
  if (not_moved) *not_moved = nm;
  return status;
}

}  // namespace

TEST_CASE("faults are reproducible from the seed") {
  FakeKernel k;
  FaultConfig c;
  c.seed = 42;
  c.move_busy = 0.2;
  c.move_nomem = 0.1;
  std::vector<int> a, b, other;
  {
    ScopedFaults f(c);
    REQUIRE(f.status().ok());
    a = move(2000);
  }
  {
    ScopedFaults f(c);
    b = move(2000);
  }
  c.seed = 43;
  {
    ScopedFaults f(c);
    other = move(2000);
  }
  REQUIRE(a == b);
  REQUIRE(a != other);
}

TEST_CASE("move_pages faults hit the configured share of pages, with kernel-style statuses") {
  FakeKernel k;
  FaultConfig c;
  c.move_busy = 0.10;
  c.move_nomem = 0.05;
  ScopedFaults f(c);
  REQUIRE(f.status().ok());
  long not_moved = 0;
  const auto st = move(100000, &not_moved);
  size_t busy = 0, nomem = 0, moved = 0;
  for (int s : st) {
    busy += s == -EBUSY;
    nomem += s == -ENOMEM;
    moved += s == 1;
  }
  REQUIRE(busy + nomem + moved == st.size());  // every page has a real status
  REQUIRE(busy / 1e5 == Approx(0.10).margin(0.01));
  REQUIRE(nomem / 1e5 == Approx(0.05).margin(0.01));
  REQUIRE(static_cast<size_t>(not_moved) == busy + nomem);
  const FaultStats s = FaultInjector::stats();
  REQUIRE(s.pages_busy == busy);
  REQUIRE(s.pages_nomem == nomem);
  REQUIRE(s.move_calls == 1);
  // Queries pass through untouched.
  void *page = g_buffer;
  int status = -1;
  long nm = 0;
  REQUIRE(prim::ops().move_pages(0, 1, &page, nullptr, &status, 0, &nm) == 0);
  REQUIRE(status == 0);
}

TEST_CASE("an offline node refuses moves and is dropped from mbind masks") {
  FakeKernel k;
  FaultConfig c;
  c.offline_nodes = {1};
  ScopedFaults f(c);
  REQUIRE(f.status().ok());
  void *page = g_buffer;
  int node = 1, status = 0;
  long nm = 0;
  REQUIRE(prim::ops().move_pages(0, 1, &page, &node, &status, 0, &nm) == ENODEV);
  REQUIRE(FaultInjector::stats().moves_to_offline == 1);

  const int only_offline[] = {1};
  auto st = prim::bind(g_buffer, 4096, prim::kMpolBind, only_offline, 1);
  REQUIRE_FALSE(st.ok());
  REQUIRE(st.error().sys_errno == EINVAL);

  // Straight through the table (prim::bind sizes masks to this host's possible nodes).
  const unsigned long mixed[prim::kMaxNodes / 64] = {0b111ul};
  g_mbind_calls = 0;
  REQUIRE(prim::ops().mbind(g_buffer, 4096, prim::kMpolInterleave, mixed, 4, 0) == 0);
  REQUIRE(g_mbind_calls == 1);
  REQUIRE(g_last_mask[0] == 0b101ul);  // node 1 removed, 0 and 2 kept
}

TEST_CASE("mbind and mmap failures surface through the prim wrappers") {
  FakeKernel k;
  FaultConfig c;
  c.mbind_fail = 1;
  c.mbind_errno = ENOMEM;
  c.map_fail = 1;
  ScopedFaults f(c);
  REQUIRE(f.status().ok());
  const int node = 0;
  auto st = prim::bind(g_buffer, 4096, prim::kMpolBind, &node, 1);
  REQUIRE_FALSE(st.ok());
  REQUIRE(st.status() == TIER_ENOMEM);
  auto m = prim::map_aligned(1 << 20, 4096);
  REQUIRE_FALSE(m.ok());
  REQUIRE(FaultInjector::stats().mbind_failed == 1);
  REQUIRE(FaultInjector::stats().maps_failed >= 1);
}

TEST_CASE("one injector at a time; uninstall restores the wrapped table") {
  FakeKernel k;
  {
    ScopedFaults f(FaultConfig{});
    REQUIRE(f.status().ok());
    REQUIRE(std::string(prim::ops().name) == "fault-injector");
    ScopedFaults second(FaultConfig{});
    REQUIRE(second.status().status() == TIER_EBUSY);
    REQUIRE(FaultInjector::installed());
  }
  REQUIRE_FALSE(FaultInjector::installed());
  REQUIRE(std::string(prim::ops().name) == "fake");
  FaultConfig bad;
  bad.move_busy = 0.7;
  bad.move_nomem = 0.6;
  REQUIRE(FaultInjector::install(bad).status() == TIER_EINVAL);
  REQUIRE_FALSE(FaultInjector::installed());
}

TEST_CASE("fault specs parse, and bad ones name the item") {
  auto c = parse_fault_spec("seed=7,move_busy=0.25,mbind_errno=EIO,offline=2+3");
  REQUIRE(c.ok());
  REQUIRE(c->seed == 7);
  REQUIRE(c->move_busy == 0.25);
  REQUIRE(c->mbind_errno == EIO);
  REQUIRE(c->offline_nodes == std::vector<int>{2, 3});

  auto bad = parse_fault_spec("move_busy=2");
  REQUIRE(bad.status() == TIER_ECONFIG);
  REQUIRE(bad.error().message.find("move_busy=2") != std::string::npos);
  REQUIRE(parse_fault_spec("mbind_errno=EWHAT").error().message.find("EWHAT") != std::string::npos);
  REQUIRE(parse_fault_spec("offline=a").error().message.find("'a'") != std::string::npos);
  REQUIRE(parse_fault_spec("speed=1").error().message.find("unknown key 'speed'") !=
          std::string::npos);
  REQUIRE(parse_fault_spec("seed").error().message.find("key=value") != std::string::npos);
}
