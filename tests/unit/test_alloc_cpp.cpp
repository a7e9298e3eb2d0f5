// The C++ header: RAII runtime and buffers, the Policy builder, tier::allocator<T> in standard
// containers, and results that carry the status.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <vector>

#include "tier/tier.hpp"

namespace {

int node_of_kind(const tier::Runtime &rt, tier_node_kind kind) {
  for (const tier_node_info &n : rt.nodes())
    if (n.kind == kind) return n.id;
  return -1;
}

}  // namespace

TEST_CASE("Runtime, Policy and Buffer") {
  auto rt = tier::Runtime::create("default");
  REQUIRE(rt);
  REQUIRE(rt->emulated());
  REQUIRE(rt->nodes().size() == 4);
  const int cxl = node_of_kind(*rt, TIER_KIND_CXL);

  auto buf = rt->allocate(3 << 20, tier::Policy::bind().kind(TIER_KIND_CXL));
  REQUIRE(buf);
  std::memset(buf->data(), 1, buf->size());
  auto w = buf->where();
  REQUIRE(w);
  REQUIRE(w->nentries == 1);
  REQUIRE(w->entries[0].node == cxl);

  // Moving transfers ownership; the moved-from buffer frees nothing.
  tier::Buffer moved = std::move(*buf);
  REQUIRE(!*buf);
  REQUIRE(moved.size() == size_t{3} << 20);
  REQUIRE(moved.resize(4 << 20).has_value());
  REQUIRE(moved.as<unsigned char>()[(3 << 20) - 1] == 1);
  auto to_pool = tier::Policy::preferred().kind(TIER_KIND_CXL_POOL);
  REQUIRE(moved.resize(4 << 20, &to_pool).has_value());
  REQUIRE(moved.as<unsigned char>()[0] == 1);
  moved.reset();
  REQUIRE(rt->node_stats(cxl)->allocated == 0);

  auto bad = rt->allocate(64, tier::Policy::bind().tier(9));
  REQUIRE(!bad);
  REQUIRE(bad.status() == TIER_ENODEV);
  REQUIRE(bad.error().message.find("policy.tier = 9") != std::string::npos);
  REQUIRE_THROWS_AS(bad.value(), tier::bad_expected_access);

  auto parsed = tier::Policy::parse(rt->get(), "weighted=dram:3,cxl:1");
  REQUIRE(parsed);
  REQUIRE(parsed->c_policy()->nnodes == 2);
  REQUIRE(tier::Policy::weighted().node(0, 3).node(2, 1).str() == "weighted=0:3,2:1");
  REQUIRE(!tier::Policy::parse(nullptr, "nonsense"));
}

TEST_CASE("tier::allocator places a std::vector's storage") {
  auto rt = tier::Runtime::create("default");
  REQUIRE(rt);
  const int hbm = node_of_kind(*rt, TIER_KIND_HBM);
  auto pl = rt->placement(tier::Policy::bind().kind(TIER_KIND_HBM));
  REQUIRE(pl);
  tier::allocator<int> alloc(rt->get(), *pl);
  std::vector<int, tier::allocator<int>> v(alloc);
  for (int i = 0; i < 1000000; ++i) v.push_back(i);  // grows through small and large sizes
  REQUIRE(v[999999] == 999999);
  tier_where_result w{};
  w.size = sizeof w;
  REQUIRE(tier_where(rt->get(), v.data(), v.size() * sizeof(int), &w) == TIER_OK);
  REQUIRE(w.nentries == 1);
  REQUIRE(w.entries[0].node == hbm);

  // Rebinding (as node-based containers do) keeps the placement.
  using PairAlloc = tier::allocator<std::pair<const int, int>>;
  std::map<int, int, std::less<int>, PairAlloc> m{std::less<int>{}, PairAlloc(alloc)};
  for (int i = 0; i < 1000; ++i) m[i] = i;
  REQUIRE(m.size() == 1000);
  REQUIRE(tier_owns(rt->get(), &*m.begin()) == 1);
  REQUIRE(tier::allocator<char>(alloc) == alloc);

  // An allocator bound to a full node throws std::bad_alloc, as the standard requires.
  REQUIRE(rt->set_capacity(hbm, 0));
  std::vector<char, tier::allocator<char>> big(alloc);
  REQUIRE_THROWS_AS(big.resize(64 << 20), std::bad_alloc);
}

TEST_CASE("the default runtime is shared and never destroyed by its handle") {
  auto a = tier::Runtime::default_runtime();
  REQUIRE(a);
  tier_runtime *raw = a->get();
  {
    auto b = tier::Runtime::default_runtime();
    REQUIRE(b->get() == raw);
  }
  REQUIRE(tier_default_runtime() == raw);
  auto buf = a->allocate(100);
  REQUIRE(buf);
}
