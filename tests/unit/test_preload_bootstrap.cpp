// The shim's bootstrap buffer (preload/next.cpp): what serves malloc while the next allocator
// is being resolved (dlsym may allocate). Blocks are aligned, zeroed, sized, recognised by
// address, never overlap (also when threads race), and exhaustion is a NULL, not a crash.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "next.hpp"

using namespace tier::preload;

TEST_CASE("bootstrap blocks are aligned, zeroed, sized and owned") {
  int local = 0;
  CHECK_FALSE(bootstrap_owns(&local));
  for (size_t align : {size_t{1}, size_t{16}, size_t{64}, size_t{4096}}) {
    auto *p = static_cast<unsigned char *>(bootstrap_alloc(100, align, true));
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % (align < 16 ? 16 : align) == 0);
    CHECK(bootstrap_owns(p));
    CHECK(bootstrap_owns(p + 99));
    CHECK(bootstrap_size(p) == 100);
    bool zero = true;
    for (int i = 0; i < 100; ++i) zero = zero && p[i] == 0;
    CHECK(zero);
    std::memset(p, 0xab, 100);
  }
  CHECK(bootstrap_alloc(100, 8192, false) == nullptr);            // alignment beyond a page
  CHECK(bootstrap_alloc(size_t{1} << 30, 16, false) == nullptr);  // larger than the buffer
}

TEST_CASE("racing threads get disjoint blocks until the buffer runs out") {
  constexpr int kThreads = 4;
  std::vector<std::vector<std::pair<uintptr_t, size_t>>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (;;) {
        size_t n = 24 + 8 * t;
        void *p = bootstrap_alloc(n, 16, false);
        if (p == nullptr) break;  // exhausted: the caller falls back, nothing crashes
        got[t].push_back({reinterpret_cast<uintptr_t>(p), n});
      }
    });
  }
  for (auto &t : ts) t.join();
  std::vector<std::pair<uintptr_t, size_t>> all;
  for (auto &g : got) all.insert(all.end(), g.begin(), g.end());
  REQUIRE(all.size() > 1000);
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i)
    CHECK(all[i - 1].first + all[i - 1].second <= all[i].first);
  for (auto &[p, n] : all) CHECK(bootstrap_size(reinterpret_cast<void *>(p)) == n);
}

TEST_CASE("the next allocator resolves to working functions") {
  REQUIRE(next_ready());
  void *p = g_next.malloc(1000);
  REQUIRE(p != nullptr);
  CHECK(g_next.usable_size(p) >= 1000);
  p = g_next.realloc(p, 5000);
  REQUIRE(p != nullptr);
  g_next.free(p);
  void *q = nullptr;
  CHECK(g_next.posix_memalign(&q, 4096, 100) == 0);
  CHECK(reinterpret_cast<uintptr_t>(q) % 4096 == 0);
  g_next.free(q);
}
