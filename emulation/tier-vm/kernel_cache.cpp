// kernel_cache.cpp - fetch and cache Debian's 6.1 kernel for tier-vm (see kernel_cache.hpp).
//
// Only the kernel image is kept (about 8 MB): the VM's /init needs no modules, since NUMA,
// ACPI HMAT, the 8250 serial console and devtmpfs are built into Debian's amd64 config.
#include "kernel_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <cctype>
#include <sstream>

#include "vm_process.hpp"

namespace fs = std::filesystem;

namespace tier::vm {

namespace {

// The N of "linux-image-6.1.0-N-amd64" in `text`, when that package name appears whole (not
// "...-amd64-unsigned" or "-amd64-dbg"); -1 otherwise. `name` receives the package name.
// (Hand-parsed: GCC 12 reports false maybe-uninitialized errors inside <regex> under ASan.)
int image_abi(const std::string &text, std::string *name = nullptr) {
  const std::string prefix = "linux-image-6.1.0-";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    const size_t digits = at + prefix.size();
    size_t q = digits;
    while (q < text.size() && std::isdigit(static_cast<unsigned char>(text[q]))) ++q;
    if (q == digits || q - digits > 6 || text.compare(q, 6, "-amd64") != 0) continue;
    const size_t end = q + 6;
    if (end < text.size() &&
        (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '-'))
      continue;
    if (name) *name = text.substr(at, end - at);
    return std::stoi(text.substr(digits, q - digits));
  }
  return -1;
}

// The newest <cache>/<package>/boot/vmlinuz-*: directories only appear once complete.
std::string cached_kernel(const std::string &cache_dir) {
  std::string best;
  int best_abi = -2;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(cache_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("linux-image-", 0) != 0 || !entry.is_directory()) continue;
    // Version order: 6.1.0-9 < 6.1.0-56 needs a numeric compare of the ABI number.
    const int abi = image_abi(name);
    for (const auto &k : fs::directory_iterator(entry.path() / "boot", ec))
      if (k.path().filename().string().rfind("vmlinuz-", 0) == 0 && abi > best_abi) {
        best = k.path();
        best_abi = abi;
      }
  }
  return best;
}

const char *kNoApt =
    "tier-vm needs a Linux kernel and fetches Debian's linux-image-6.1.0-*-amd64 with apt-get "
    "and dpkg-deb; ";

}  // namespace

std::string default_cache_dir() {
  if (const char *c = std::getenv("TIER_VM_CACHE"); c && *c) return c;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/tier-vm";
  if (const char *h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/tier-vm";
  return "/tmp/tier-vm-cache";
}

Result<std::string> resolve_kernel_package() {
  if (find_in_path("apt-cache").empty())
    return make_error(TIER_ENOSYS, std::string(kNoApt) +
                                       "apt-cache is missing (package apt). Or pass --kernel "
                                       "PATH (or TIER_VM_KERNEL) to a bzImage");
  auto dep = run_capture({"apt-cache", "depends", "linux-image-amd64"});
  if (dep && dep->status == 0) {
    std::istringstream in(dep->output);
    std::string name;
    for (std::string line; std::getline(in, line);)
      if (line.find("Depends:") != std::string::npos && image_abi(line, &name) >= 0) return name;
  }
  // No metapackage: the highest ABI number among the known images.
  auto search =
      run_capture({"apt-cache", "search", "--names-only", "^linux-image-6\\.1\\.0-[0-9]+-amd64$"});
  if (!search || search->status != 0)
    return make_error(TIER_ENOSYS, "apt-cache search for linux-image-6.1.0-*-amd64 failed");
  std::string best;
  int best_abi = -1;
  std::istringstream in(search->output);
  for (std::string line; std::getline(in, line);) {
    std::string name;
    const int abi = image_abi(line.substr(0, line.find(' ')), &name);
    if (abi > best_abi) {
      best_abi = abi;
      best = name;
    }
  }
  if (best.empty())
    return make_error(TIER_ENOSYS,
                      "apt knows no linux-image-6.1.0-*-amd64 package: run apt-get update (a "
                      "Debian bookworm archive must be configured), or pass --kernel PATH");
  return best;
}

Result<std::string> find_or_fetch_kernel(const std::string &cache_dir, std::ostream &log) {
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec)
    return make_error(TIER_EOS,
                      "cannot create the kernel cache " + cache_dir + ": " + ec.message());
  if (std::string k = cached_kernel(cache_dir); !k.empty()) return k;

  const std::string lock_path = cache_dir + "/.lock";
  int lock = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) return os_error("open " + lock_path);
  while (flock(lock, LOCK_EX) != 0 && errno == EINTR) {
  }
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }
  } unlock{lock};
  // Another tier-vm may have fetched it while we waited.
  if (std::string k = cached_kernel(cache_dir); !k.empty()) return k;

  for (const char *tool : {"apt-get", "dpkg-deb", "tar"})
    if (find_in_path(tool).empty())
      return make_error(TIER_ENOSYS, std::string(kNoApt) + tool + " is missing (package " +
                                         (std::string(tool) == "tar"       ? "tar"
                                          : std::string(tool) == "apt-get" ? "apt"
                                                                           : "dpkg") +
                                         "). Or pass --kernel PATH");
  auto pkg = resolve_kernel_package();
  if (!pkg) return std::move(pkg).error();
  log << "tier-vm: fetching " << *pkg << " into " << cache_dir << " (once)\n";

  const std::string tmp = cache_dir + "/.fetch-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp + "/x", ec);
  auto dl = run_capture({"apt-get", "download", *pkg}, tmp);
  if (!dl || dl->status != 0) {
    fs::remove_all(tmp, ec);
    return make_error(TIER_ENOSYS, "apt-get download " + *pkg + " failed" +
                                       (dl ? ":\n" + dl->output : ": " + dl.error().message));
  }
  std::string deb;
  for (const auto &e : fs::directory_iterator(tmp, ec))
    if (e.path().extension() == ".deb") deb = e.path();
  if (deb.empty()) {
    fs::remove_all(tmp, ec);
    return make_error(TIER_ENOSYS, "apt-get download " + *pkg + " left no .deb in " + tmp);
  }
  // dpkg-deb -x would unpack ~400 MB of modules; the image alone is all the VM boots.
  auto x = run_capture({"sh", "-c",
                        "dpkg-deb --fsys-tarfile \"$1\" | tar -xf - -C \"$2\" --wildcards "
                        "'./boot/vmlinuz-*'",
                        "sh", deb, tmp + "/x"});
  if (!x || x->status != 0) {
    fs::remove_all(tmp, ec);
    return make_error(TIER_ENOSYS, "unpacking " + deb + " failed" + (x ? ":\n" + x->output : ""));
  }
  const std::string dest = cache_dir + "/" + *pkg;
  fs::remove_all(dest, ec);
  fs::rename(tmp + "/x", dest, ec);
  fs::remove_all(tmp);
  if (ec) return make_error(TIER_EOS, "cannot move the kernel into " + dest + ": " + ec.message());
  std::string k = cached_kernel(cache_dir);
  if (k.empty()) return make_error(TIER_ENOSYS, *pkg + " holds no /boot/vmlinuz-*");
  return k;
}

}  // namespace tier::vm
