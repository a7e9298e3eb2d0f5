// fork(2) in a multithreaded process: while other threads allocate and free (holding Tier's
// and jemalloc's locks at random moments), the child must be able to allocate, free and exit 0.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "tier/tier.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Runs in the child: small and large blocks under several policies, then a new placement
// (arena creation takes the placement lock and jemalloc's ctl lock).
int child_work(tier_runtime *rt) {
  alarm(20);  // a deadlock becomes a SIGALRM death the parent reports
  for (int i = 0; i < 200; ++i) {
    void *p = tier_malloc(rt, 16 + i * 64, nullptr);
    if (p == nullptr) return 10;
    std::memset(p, 1, 16);
    if (tier_free(rt, p) != TIER_OK) return 11;
  }
  void *big = tier_malloc(rt, 4 * kMiB, nullptr);
  if (big == nullptr) return 12;
  std::memset(big, 2, 4 * kMiB);
  if (tier_free(rt, big) != TIER_OK) return 13;
  tier_policy p = TIER_POLICY_INIT;
  p.mode = TIER_MODE_INTERLEAVE;
  p.select = TIER_SELECT_TIER;
  p.tier = tier_tier_count(rt) - 1;
  void *q = tier_malloc(rt, 1000, &p);
  if (q == nullptr) return 14;
  if (tier_free(rt, q) != TIER_OK) return 15;
  tier_runtime *fresh = nullptr;
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  if (tier_runtime_create(&o, &fresh) != TIER_OK) return 16;
  void *f = tier_malloc(fresh, 100, nullptr);
  if (f == nullptr || tier_free(fresh, f) != TIER_OK) return 17;
  tier_runtime_destroy(fresh);
  return 0;
}

}  // namespace

TEST_CASE("a child of a multithreaded parent can allocate") {
  tier_runtime *rt = nullptr;
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);

  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      tier_policy p = TIER_POLICY_INIT;
      p.mode = t % 2 ? TIER_MODE_PREFERRED : TIER_MODE_INTERLEAVE;
      p.select = TIER_SELECT_TIER;
      p.tier = t % tier_tier_count(rt);
      unsigned i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        size_t size = (++i % 64 == 0) ? 3 * kMiB : 8 + (i * 97) % 20000;
        void *m = tier_malloc(rt, size, &p);
        if (m) tier_free(rt, m);
      }
    });
  }

  for (int round = 0; round < 12; ++round) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(child_work(rt));
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    INFO("round " << round << ": status " << status);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  stop = true;
  for (auto &w : workers) w.join();
  tier_runtime_destroy(rt);
}
