// libtier-preload.so itself, loaded into this test process with dlopen and called through its
// exported malloc family (so the test runs the same under ASan, whose own malloc stays the
// process's): rule matching, data kept across realloc between the tiers and the next
// allocator, alignment, calloc zeroing, routing of foreign pointers, threads, fork, bad rules,
// and the exit report's per-node figures (checked in a child process).
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kKiB = 1024, kMiB = kKiB * 1024;

struct Shim {
  void *(*malloc)(size_t);
  void (*free)(void *);
  void *(*calloc)(size_t, size_t);
  void *(*realloc)(void *, size_t);
  void *(*reallocarray)(void *, size_t, size_t);
  int (*posix_memalign)(void **, size_t, size_t);
  void *(*aligned_alloc)(size_t, size_t);
  void *(*memalign)(size_t, size_t);
  void *(*valloc)(size_t);
  void *(*pvalloc)(size_t);
  size_t (*usable)(void *);
};

template <class F>
void sym(void *h, F &f, const char *name) {
  f = reinterpret_cast<F>(dlsym(h, name));
  INFO(name);
  REQUIRE(f != nullptr);
}

// Loads the shim once, with the rules of this test binary (set before the constructor runs).
Shim &shim() {
  static Shim s = [] {
    const char *so = std::getenv("TIER_PRELOAD_SO");
    REQUIRE(so != nullptr);
    setenv("TIER_TOPOLOGY", "default", 1);
    setenv("TIER_PRELOAD", "size>=1MiB:tier=cxl;size>=64KiB&size<256KiB:interleave=dram:3,cxl:1",
           1);
    setenv("TIER_PRELOAD_REPORT", "1", 1);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    INFO((h ? "" : dlerror()));
    REQUIRE(h != nullptr);
    Shim r{};
    sym(h, r.malloc, "malloc");
    sym(h, r.free, "free");
    sym(h, r.calloc, "calloc");
    sym(h, r.realloc, "realloc");
    sym(h, r.reallocarray, "reallocarray");
    sym(h, r.posix_memalign, "posix_memalign");
    sym(h, r.aligned_alloc, "aligned_alloc");
    sym(h, r.memalign, "memalign");
    sym(h, r.valloc, "valloc");
    sym(h, r.pvalloc, "pvalloc");
    sym(h, r.usable, "malloc_usable_size");
    // Only the malloc family is exported: libtier's C ABI stays inside.
    CHECK(dlsym(h, "tier_malloc") == nullptr);
    CHECK(dlsym(h, "tier_default_runtime") == nullptr);
    CHECK(dlsym(h, "tierje_mallocx") == nullptr);
    return r;
  }();
  return s;
}

void fill(void *p, size_t n, unsigned seed) {
  auto *b = static_cast<unsigned char *>(p);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>((i * 131 + seed) >> 3);
}
bool check(const void *p, size_t n, unsigned seed) {
  auto *b = static_cast<const unsigned char *>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i] != static_cast<unsigned char>((i * 131 + seed) >> 3)) return false;
  return true;
}

// Runs `body` in a child and returns its stderr (the exit report) and exit status.
template <class F>
std::pair<int, std::string> in_child(F &&body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    int rc = body();
    std::exit(rc);  // runs the shim's atexit report
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return {status, out};
}

// "placed N bytes" of the report line of the node of kind `kind`.
unsigned long long placed_on(const std::string &report, const std::string &kind) {
  size_t at = report.find(" (" + kind + ") tier ");
  if (at == std::string::npos) return ~0ull;
  size_t p = report.find("placed ", at);
  return std::strtoull(report.c_str() + p + 7, nullptr, 10);
}

}  // namespace

TEST_CASE("small blocks and large blocks keep their data; usable sizes are sane") {
  Shim &s = shim();
  for (size_t n : {size_t{1}, size_t{100}, 4 * kKiB, 64 * kKiB, 100 * kKiB, kMiB, 3 * kMiB + 17}) {
    void *p = s.malloc(n);
    REQUIRE(p != nullptr);
    CHECK(s.usable(p) >= n);
    fill(p, n, 7);
    CHECK(check(p, n, 7));
    s.free(p);
  }
  s.free(nullptr);
  CHECK(s.usable(nullptr) == 0);
}

TEST_CASE("realloc moves data between the next allocator and the tiers, both ways") {
  Shim &s = shim();
  // Grows from the next allocator (small) into a rule (64 KiB interleave), past it (256 KiB..1 MiB:
  // no rule, back to the next allocator), into the CXL rule, and shrinks back down.
  size_t sizes[] = {1000, 70 * kKiB, 300 * kKiB, 2 * kMiB, 5 * kMiB, 90 * kKiB, 10};
  void *p = s.malloc(100);
  fill(p, 100, 3);
  size_t valid = 100;
  for (size_t n : sizes) {
    void *q = s.realloc(p, n);
    REQUIRE(q != nullptr);
    CHECK(check(q, std::min(valid, n), 3));
    fill(q, n, 3);
    valid = n;
    p = q;
  }
  s.free(p);
  void *a = s.reallocarray(nullptr, 1000, 2 * kKiB);
  REQUIRE(a != nullptr);
  s.free(a);
  errno = 0;
  CHECK(s.reallocarray(nullptr, SIZE_MAX / 2, 4) == nullptr);
  CHECK(errno == ENOMEM);
}

TEST_CASE("calloc zeroes, also on reused tier memory, and refuses overflow") {
  Shim &s = shim();
  for (int round = 0; round < 3; ++round) {
    for (size_t n : {size_t{64}, 80 * kKiB, 4 * kMiB}) {
      auto *p = static_cast<unsigned char *>(s.calloc(1, n));
      REQUIRE(p != nullptr);
      bool zero = true;
      for (size_t i = 0; i < n; ++i) zero = zero && p[i] == 0;
      CHECK(zero);
      std::memset(p, 0xff, n);  // dirty it: the next round may get the same memory back
      s.free(p);
    }
  }
  errno = 0;
  CHECK(s.calloc(SIZE_MAX / 2, 3) == nullptr);
  CHECK(errno == ENOMEM);
}

TEST_CASE("aligned allocations honour their alignment on both paths") {
  Shim &s = shim();
  for (size_t align : {size_t{16}, size_t{64}, size_t{4096}, 64 * kKiB, 2 * kMiB, 4 * kMiB}) {
    for (size_t n : {size_t{100}, 100 * kKiB, 3 * kMiB}) {
      void *p = nullptr;
      REQUIRE(s.posix_memalign(&p, align, n) == 0);
      CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
      fill(p, n, 1);
      s.free(p);
      // C11 asks for a size that is a multiple of the alignment (ASan's next allocator
      // enforces it), so round it up here.
      p = s.aligned_alloc(align, (n + align - 1) / align * align);
      REQUIRE(p != nullptr);
      CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
      s.free(p);
      p = s.memalign(align, n);
      REQUIRE(p != nullptr);
      CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
      s.free(p);
    }
  }
  void *p = nullptr;
  CHECK(s.posix_memalign(&p, 24, 100) == EINVAL);
  void *v = s.valloc(3 * kMiB);
  REQUIRE(v != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(v) % 4096 == 0);
  s.free(v);
  void *pv = s.pvalloc(70 * kKiB + 1);
  REQUIRE(pv != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(pv) % 4096 == 0);
  CHECK(s.usable(pv) >= 72 * kKiB);
  s.free(pv);
}

TEST_CASE("pointers of the next allocator are routed back to it") {
  Shim &s = shim();
  // Memory this process got from its own malloc (glibc's, or ASan's) is freed, resized and
  // measured through the shim: the ownership check sends it to the next allocator.
  for (size_t n : {size_t{32}, 200 * kKiB, 4 * kMiB}) {
    void *p = std::malloc(n);
    REQUIRE(p != nullptr);
    fill(p, n, 9);
    CHECK(s.usable(p) >= n);
    void *q = s.realloc(p, n + 10);
    REQUIRE(q != nullptr);
    CHECK(check(q, n, 9));
    s.free(q);
  }
}

TEST_CASE("threads allocate and free each other's blocks") {
  Shim &s = shim();
  constexpr int kThreads = 4, kBlocks = 200;
  std::vector<std::vector<void *>> blocks(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kBlocks; ++i) {
        size_t n = (i % 5 == 0) ? (1 + i % 3) * kMiB : (i % 2 ? 64 * kKiB + i : 100 + i);
        void *p = s.malloc(n);
        if (p) fill(p, 64, static_cast<unsigned>(t));
        blocks[t].push_back(p);
      }
    });
  }
  for (auto &t : ts) t.join();
  ts.clear();
  // Each thread frees another thread's blocks.
  std::vector<int> bad(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      int from = (t + 1) % kThreads;
      for (void *p : blocks[from]) {
        if (p == nullptr || !check(p, 64, static_cast<unsigned>(from))) ++bad[t];
        s.free(p);
      }
    });
  }
  for (auto &t : ts) t.join();
  for (int b : bad) CHECK(b == 0);
}

TEST_CASE("a forked child allocates and frees, including blocks of its parent") {
  Shim &s = shim();
  void *big = s.malloc(3 * kMiB);
  void *mid = s.malloc(100 * kKiB);
  fill(big, 3 * kMiB, 5);
  fill(mid, 100 * kKiB, 6);
  std::thread busy([&] {  // allocating while the fork happens
    for (int i = 0; i < 2000; ++i) s.free(s.malloc(i % 2 ? 2 * kMiB : 70 * kKiB));
  });
  auto [status, out] = in_child([&] {
    if (!check(big, 3 * kMiB, 5) || !check(mid, 100 * kKiB, 6)) return 2;
    s.free(big);
    s.free(mid);
    for (int i = 0; i < 100; ++i) s.free(s.malloc(i % 2 ? 4 * kMiB : 80 * kKiB));
    return 0;
  });
  busy.join();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  s.free(big);
  s.free(mid);
}

TEST_CASE("the exit report shows blocks on the nodes the rules name") {
  Shim &s = shim();
  auto [status, out] = in_child([&] {
    // Kept live until exit: 8 blocks of 4 MiB for CXL, nothing else over 1 MiB.
    for (int i = 0; i < 8; ++i) std::memset(s.malloc(4 * kMiB), 1, 4 * kMiB);
    return 0;
  });
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(out.find("report: rule 1 `size>=1MiB:tier=cxl` (policy preferred=cxl)") !=
        std::string::npos);
  // Earlier test cases placed blocks too (counters are cumulative), so at least 32 MiB on
  // cxl, nothing over 1 MiB elsewhere: hbm and the pool got nothing at all.
  CHECK(placed_on(out, "cxl") >= 32 * kMiB);
  CHECK(placed_on(out, "cxl") != ~0ull);
  CHECK(placed_on(out, "hbm") == 0);
  // The live regions are where the report says: all 32 MiB resident on cxl.
  size_t at = out.find(" (cxl) tier ");
  REQUIRE(at != std::string::npos);
  std::string line = out.substr(at, out.find('\n', at) - at);
  size_t r = line.find("resident here ");
  REQUIRE(r != std::string::npos);
  CHECK(std::strtoull(line.c_str() + r + 14, nullptr, 10) >= 32 * kMiB);
}
