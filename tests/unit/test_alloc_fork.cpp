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

#include "tier/heat.h"
#include "tier/tier.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

// AddressSanitizer's own malloc (GCC 12's libasan) takes no lock across fork: a worker inside
// it (Tier calls malloc from its extent hooks, hwloc from tier_runtime_create) leaves one of
// its size-class mutexes held in the child, whose next malloc then hangs. That is the
// sanitizer's limitation, not Tier's (the normal build forks with the workers running); under
// ASan the workers are parked while the parent forks, so the child's work is still checked.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kParkWorkersAtFork = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kParkWorkersAtFork = true;
#else
constexpr bool kParkWorkersAtFork = false;
#endif
#else
constexpr bool kParkWorkersAtFork = false;
#endif

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

  std::atomic<bool> stop{false}, hold{false};
  std::atomic<int> parked{0};
  constexpr int kWorkers = 4;
  std::vector<std::thread> workers;
  for (int t = 0; t < kWorkers; ++t) {
    workers.emplace_back([&, t] {
      tier_policy p = TIER_POLICY_INIT;
      p.mode = t % 2 ? TIER_MODE_PREFERRED : TIER_MODE_INTERLEAVE;
      p.select = TIER_SELECT_TIER;
      p.tier = t % tier_tier_count(rt);
      unsigned i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (hold.load(std::memory_order_acquire)) {
          parked.fetch_add(1);
          while (hold.load(std::memory_order_acquire)) std::this_thread::yield();
          parked.fetch_sub(1);
        }
        size_t size = (++i % 64 == 0) ? 3 * kMiB : 8 + (i * 97) % 20000;
        void *m = tier_malloc(rt, size, &p);
        if (m) tier_free(rt, m);
      }
    });
  }

  for (int round = 0; round < 12; ++round) {
    if (kParkWorkersAtFork) {
      hold = true;
      while (parked.load() < kWorkers) std::this_thread::yield();
    }
    pid_t pid = fork();
    hold = false;
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

TEST_CASE("a child allocates from magazines inherited from the parent, with exact statistics") {
  tier_runtime *rt = nullptr;
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  tier_placement *pl = tier_placement_get(rt, nullptr);
  REQUIRE(pl != nullptr);

  // Fill this thread's magazines, and another thread's, which will not exist in the child.
  auto churn = [&] {
    std::vector<void *> blocks;
    for (int i = 0; i < 500; ++i) blocks.push_back(tier_malloc_p(rt, 1 + (i * 53) % 4096, pl));
    for (void *p : blocks) tier_free(rt, p);
  };
  churn();
  std::atomic<bool> filled{false}, release{false};
  std::thread other([&] {
    churn();
    filled = true;
    while (!release.load()) std::this_thread::yield();
  });
  while (!filled.load()) std::this_thread::yield();

  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(20);
    auto total = [&](uint64_t *bytes, uint64_t *count) {
      *bytes = *count = 0;
      for (int i = 0; i < tier_node_count(rt); ++i) {
        tier_node_info info{};
        info.size = sizeof info;
        tier_node_stats s{};
        s.size = sizeof s;
        if (tier_node_at(rt, i, &info) != TIER_OK) return false;
        if (tier_node_stats_get(rt, info.id, &s) != TIER_OK) return false;
        *bytes += s.allocated;
        *count += s.allocations;
      }
      return true;
    };
    std::vector<void *> blocks;
    uint64_t usable = 0;
    for (int i = 0; i < 1000; ++i) {
      void *p = tier_malloc_p(rt, 1 + (i * 53) % 4096, pl);
      if (p == nullptr) _exit(20);
      std::memset(p, 3, 1);
      usable += tier_usable_size(rt, p);
      blocks.push_back(p);
    }
    uint64_t bytes = 0, count = 0;
    if (!total(&bytes, &count) || bytes != usable || count != blocks.size()) _exit(21);
    for (void *p : blocks)
      if (tier_free(rt, p) != TIER_OK) _exit(22);
    if (!total(&bytes, &count) || bytes != 0 || count != 0) _exit(23);
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("status " << status);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  release = true;
  other.join();
  tier_runtime_destroy(rt);
}

TEST_CASE("a child of a process whose agent runs epochs can free its registered memory") {
  tier_runtime *rt = nullptr;
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  REQUIRE(tier_runtime_create(&o, &rt) == TIER_OK);
  // Registered blocks make every epoch walk, plan and possibly move them under the agent's
  // epoch lock, which tier_free of a registered block takes too (it forgets the region).
  std::vector<void *> blocks;
  for (int i = 0; i < 4; ++i) {
    void *b = tier_malloc(rt, 4 * kMiB, nullptr);
    REQUIRE(b != nullptr);
    std::memset(b, 5, 4 * kMiB);
    uint32_t id = 0;
    REQUIRE(tier_region_register(rt, b, 4 * kMiB, TIER_GROUP_NONE, 0, &id) == TIER_OK);
    blocks.push_back(b);
  }
  tier_agent_options ao = TIER_AGENT_OPTIONS_INIT;
  ao.period_ms = 1;  // epochs back to back: a fork often lands inside one
  REQUIRE(tier_agent_start(rt, &ao) == TIER_OK);
  for (int round = 0; round < 40; ++round) {
    for (void *b : blocks) tier_touch(rt, b, 4 * kMiB, 1 + round % 3, 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      alarm(20);  // a deadlock becomes a SIGALRM death the parent reports
      for (void *b : blocks)
        if (tier_free(rt, b) != TIER_OK) _exit(30);
      _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    INFO("round " << round << ": status " << status);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  REQUIRE(tier_agent_stop(rt) == TIER_OK);
  for (void *b : blocks) REQUIRE(tier_free(rt, b) == TIER_OK);
  tier_runtime_destroy(rt);
}
