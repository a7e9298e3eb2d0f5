// libtier.so as a user loads it: dlopen from python3 ctypes (a private jemalloc with
// initial-exec TLS would fail here), a runtime created and used through the C ABI alone, and
// only tier_* symbols exported.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace {

std::string library() {
  const char *so = std::getenv("TIER_LIBTIER_SO");
  REQUIRE(so != nullptr);
  return so;
}

// Runs a command and returns its exit status and output.
std::pair<int, std::string> run(const std::string &cmd) {
  FILE *f = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  return {status, out};
}

}  // namespace

TEST_CASE("python3 ctypes loads libtier.so and allocates through it") {
  if (std::system("command -v python3 >/dev/null") != 0) {
    WARN("python3 missing");
    std::exit(77);
  }
  const std::string script = R"PY(
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.tier_version.restype = ctypes.c_char_p
assert lib.tier_version() == b"0.1.0", lib.tier_version()
class Options(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("topology", ctypes.c_char_p), ("flags", ctypes.c_uint32)]
opts = Options(ctypes.sizeof(Options), b"default", 0)
rt = ctypes.c_void_p()
lib.tier_last_error.restype = ctypes.c_char_p
st = lib.tier_runtime_create(ctypes.byref(opts), ctypes.byref(rt))
assert st == 0, lib.tier_last_error()
lib.tier_malloc.restype = ctypes.c_void_p
lib.tier_malloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
lib.tier_free.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
lib.tier_owns.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
for size in (64, 5 << 20):
    p = lib.tier_malloc(rt, size, None)
    assert p, lib.tier_last_error()
    ctypes.memset(p, 7, size)
    assert lib.tier_owns(rt, p) == 1
    assert lib.tier_free(rt, p) == 0
lib.tier_runtime_destroy.argtypes = [ctypes.c_void_p]
lib.tier_runtime_destroy(rt)
print("ok")
)PY";
  const std::string path = "/tmp/tier_ctypes_test_" + std::to_string(getpid()) + ".py";
  FILE *f = std::fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fputs(script.c_str(), f);
  std::fclose(f);
  std::string prefix;
#if defined(__SANITIZE_ADDRESS__)
  // An ASan-built libtier.so needs the ASan runtime loaded first in python3 (which is not
  // built with it); python's own allocations are not ours to leak-check.
  prefix = "LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 ";
#endif
  auto [status, out] = run(prefix + "python3 " + path + " " + library());
  std::remove(path.c_str());
  INFO(out);
  REQUIRE(status == 0);
  REQUIRE(out.find("ok") != std::string::npos);
}

TEST_CASE("libtier.so exports only tier_* symbols") {
  auto [status, out] = run("nm -D --defined-only " + library());
  INFO(out);
  REQUIRE(status == 0);
  size_t exported = 0;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    std::string name = line.substr(line.rfind(' ') + 1);
    // The version node itself ("A TIER_0") is not a symbol of code or data.
    if (line.find(" A ") != std::string::npos) continue;
    INFO("symbol " << name);
    REQUIRE(name.rfind("tier_", 0) == 0);
    ++exported;
  }
  REQUIRE(exported >= 30);
}
