// probe - an ordinary program (it links nothing of Tier) for the shim's placement tests: it
// allocates a known mix of blocks through the malloc family, fills and checks them, keeps some
// live until exit, and prints what a rule `size>=1MiB:...` should have placed, so the test can
// compare that with the shim's exit report. Its stdout is the same with and without the shim.
#include <stdlib.h>
#include <string.h>

#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

constexpr size_t kKiB = 1024, kMiB = 1024 * kKiB;

uint64_t checksum(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i += 61) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(i * 7 + seed);
}

}  // namespace

int main() {
  struct Block {
    unsigned char *p;
    size_t n;
  };
  std::vector<Block> live;
  uint64_t big_bytes = 0, big_blocks = 0, live_big_bytes = 0, sum = 0;
  auto big = [&](size_t n) {
    if (n >= kMiB) big_bytes += n, ++big_blocks;
  };
  // Large blocks of each allocation call, 2 MiB and more (whole granules: registered regions).
  for (int i = 0; i < 6; ++i) {
    size_t n = 3 * kMiB + i * 4096;
    auto *p = static_cast<unsigned char *>(malloc(n));
    big(n);
    live.push_back({p, n});
  }
  for (int i = 0; i < 2; ++i) {
    size_t n = 8 * kMiB;
    auto *p = static_cast<unsigned char *>(calloc(n / 16, 16));
    for (size_t j = 0; j < n; j += 4096)
      if (p[j] != 0) return std::printf("calloc block not zeroed\n"), 1;
    big(n);
    live.push_back({p, n});
  }
  void *aligned = nullptr;
  if (posix_memalign(&aligned, 4096, 4 * kMiB) != 0) return 1;
  big(4 * kMiB);
  live.push_back({static_cast<unsigned char *>(aligned), 4 * kMiB});
  // Between 1 and 2 MiB: placed, but inside a placement's small arena (not registered).
  for (int i = 0; i < 4; ++i) {
    size_t n = kMiB + 100 * kKiB;
    big(n);
    live.push_back({static_cast<unsigned char *>(malloc(n)), n});
  }
  // Medium and small blocks: never matched by `size>=1MiB`.
  for (int i = 0; i < 200; ++i) {
    size_t n = (i % 2) ? 100 * kKiB : 64 + i;
    live.push_back({static_cast<unsigned char *>(malloc(n)), n});
  }
  for (size_t i = 0; i < live.size(); ++i) {
    if (live[i].p == nullptr) return std::printf("allocation %zu failed\n", i), 1;
    fill(live[i].p, live[i].n, static_cast<unsigned>(i));
  }
  for (size_t i = 0; i < live.size(); ++i) sum ^= checksum(live[i].p, live[i].n) + i;
  // Free every other medium/small block and one large block; the rest stays live until exit.
  free(live[0].p);
  live[0].p = nullptr;
  for (size_t i = 13; i < live.size(); i += 2) {
    free(live[i].p);
    live[i].p = nullptr;
  }
  for (const Block &b : live)
    if (b.p && b.n >= 2 * kMiB) live_big_bytes += b.n;
  std::printf("checksum %016llx\n", static_cast<unsigned long long>(sum));
  std::printf("big_blocks %llu\n", static_cast<unsigned long long>(big_blocks));
  std::printf("big_bytes %llu\n", static_cast<unsigned long long>(big_bytes));
  std::printf("live_registered_bytes %llu\n", static_cast<unsigned long long>(live_big_bytes));
  return 0;
}
