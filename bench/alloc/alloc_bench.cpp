// alloc_bench.cpp - allocation throughput of Tier against the allocators a user would
// otherwise pick, in one run (issue 2):
//   small/<alloc>: batches of mixed sizes (16 B - 4 KiB, log-uniform), allocate then free, for
//     glibc malloc, jemalloc, mimalloc, memkind (MEMKIND_DEFAULT) and Tier (an interned
//     placement on the fastest tier), on 1 and 2 threads;
//   large/<alloc>/<MiB>: allocate, write one byte per 4 KiB page, free, for numa_alloc_onnode,
//     mmap+mbind and Tier (bound to the same node; Tier reuses its 2 MiB chunks).
// Tier runs on the machine's own topology unless TIER_BENCH_TOPOLOGY names another.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <memkind.h>
#include <mimalloc.h>
#include <numa.h>
#include <numaif.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ratio_reporter.hpp"
#include "tier/tier.h"

extern "C" void *__libc_malloc(size_t);  // glibc's allocator, under the interposed jemalloc
extern "C" void __libc_free(void *);

namespace {

constexpr int kBatch = 1000;

// Log-uniform sizes in [16, 4096], fixed by a seed so every allocator sees the same sequence.
const std::vector<size_t> &small_sizes() {
  static const std::vector<size_t> sizes = [] {
    std::vector<size_t> s(kBatch);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (auto &v : s) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const int shift = 4 + static_cast<int>(x % 9);  // 16 .. 4096
      v = (size_t{1} << shift) + (x >> 32) % (size_t{1} << shift);
      if (v > 4096) v = 4096;
    }
    return s;
  }();
  return sizes;
}

tier_runtime *runtime() {
  static tier_runtime *rt = [] {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    const char *topo = std::getenv("TIER_BENCH_TOPOLOGY");
    o.topology = topo ? topo : "machine";
    tier_runtime *r = nullptr;
    if (tier_runtime_create(&o, &r) != TIER_OK) r = nullptr;
    return r;
  }();
  return rt;
}

tier_placement *fastest() {
  static tier_placement *p = [] {
    tier_policy pol = TIER_POLICY_INIT;
    return runtime() ? tier_placement_get(runtime(), &pol) : nullptr;
  }();
  return p;
}

template <class Alloc, class Free>
void run_small(benchmark::State &state, Alloc alloc, Free release) {
  const auto &sizes = small_sizes();
  std::vector<void *> ptrs(sizes.size());
  for (auto _ : state) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      ptrs[i] = alloc(sizes[i]);
      static_cast<char *>(ptrs[i])[0] = 1;
    }
    benchmark::ClobberMemory();
    for (size_t i = 0; i < sizes.size(); ++i) release(ptrs[(i * 7919) % sizes.size()]);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(sizes.size()) * 2);
}

void small_glibc(benchmark::State &s) {
  run_small(s, __libc_malloc, __libc_free);
}
// The shared object that serves the process's malloc (link order decides it, see
// CMakeLists.txt): the "jemalloc" row is only jemalloc if this is libjemalloc.
const char *malloc_provider() {
  static const char *name = [] {
    Dl_info info{};
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    return sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "unknown";
  }();
  return name;
}

void small_jemalloc(benchmark::State &s) {
  if (std::strstr(malloc_provider(), "libjemalloc") == nullptr)
    return s.SkipWithError((std::string("malloc is served by ") + malloc_provider()).c_str());
  run_small(s, ::malloc, ::free);
}
void small_mimalloc(benchmark::State &s) {
  run_small(s, mi_malloc, mi_free);
}
void small_memkind(benchmark::State &s) {
  run_small(
      s, [](size_t n) { return memkind_malloc(MEMKIND_DEFAULT, n); },
      [](void *p) { memkind_free(MEMKIND_DEFAULT, p); });
}
void small_tier(benchmark::State &s) {
  if (!fastest()) return s.SkipWithError(tier_last_error());
  run_small(
      s, [](size_t n) { return tier_malloc_p(runtime(), n, fastest()); },
      [](void *p) { tier_free(runtime(), p); });
}

template <class Alloc, class Free>
void run_large(benchmark::State &state, Alloc alloc, Free release) {
  const size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  for (auto _ : state) {
    char *p = static_cast<char *>(alloc(bytes));
    if (!p) return state.SkipWithError("allocation failed");
    for (size_t off = 0; off < bytes; off += 4096) p[off] = 1;
    benchmark::ClobberMemory();
    release(p, bytes);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

void large_numa_alloc_onnode(benchmark::State &s) {
  run_large(
      s, [](size_t n) { return numa_alloc_onnode(n, 0); },
      [](void *p, size_t n) { numa_free(p, n); });
}
void large_mmap_mbind(benchmark::State &s) {
  run_large(
      s,
      [](size_t n) -> void * {
        void *p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        unsigned long mask = 1;
        mbind(p, n, MPOL_BIND, &mask, sizeof mask * 8, 0);
        return p;
      },
      [](void *p, size_t n) { munmap(p, n); });
}
void large_tier(benchmark::State &s) {
  static tier_placement *bound = [] {
    tier_policy pol = TIER_POLICY_INIT;
    pol.mode = TIER_MODE_BIND;
    return runtime() ? tier_placement_get(runtime(), &pol) : nullptr;
  }();
  if (!bound) return s.SkipWithError(tier_last_error());
  run_large(
      s, [](size_t n) { return tier_malloc_p(runtime(), n, bound); },
      [](void *p, size_t) { tier_free(runtime(), p); });
}

struct Entry {
  const char *name;
  void (*fn)(benchmark::State &);
};

void register_all() {
  const Entry small[] = {{"small/glibc", small_glibc},
                         {"small/jemalloc", small_jemalloc},
                         {"small/mimalloc", small_mimalloc},
                         {"small/memkind", small_memkind},
                         {"small/tier", small_tier}};
  for (const Entry &e : small)
    benchmark::RegisterBenchmark(e.name, e.fn)->Threads(1)->Threads(2)->UseRealTime();
  const Entry large[] = {{"large/numa_alloc_onnode", large_numa_alloc_onnode},
                         {"large/mmap_mbind", large_mmap_mbind},
                         {"large/tier", large_tier}};
  // A steady state of repeated large allocations is what reuse is for: at 256 MiB and 1 GiB a
  // time-bounded run would stop after one (cold) iteration, so those sizes run a fixed count.
  for (const Entry &e : large) {
    auto *b = benchmark::RegisterBenchmark(e.name, e.fn)->Unit(benchmark::kMicrosecond);
    for (int64_t m : {2, 32}) b->Arg(m);
    auto *big = benchmark::RegisterBenchmark(e.name, e.fn)->Unit(benchmark::kMicrosecond);
    for (int64_t m : {256, 1024}) big->Arg(m);
    big->Iterations(4);
  }
}

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  tier::bench::RatioReporter reporter({{"tier", "jemalloc"},
                                       {"tier", "memkind"},
                                       {"tier", "glibc"},
                                       {"tier", "mimalloc"},
                                       {"tier", "numa_alloc_onnode"},
                                       {"tier", "mmap_mbind"}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
