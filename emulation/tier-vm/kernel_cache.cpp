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
#include <regex>
#include <sstream>

#include "vm_process.hpp"

namespace fs = std::filesystem;

namespace tier::vm {

namespace {

// The newest <cache>/<package>/boot/vmlinuz-* whose directory is complete.
std::string cached_kernel(const std::string &cache_dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(cache_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("linux-image-", 0) != 0 || !entry.is_directory()) continue;
    for (const auto &k : fs::directory_iterator(entry.path() / "boot", ec))
      if (k.path().filename().string().rfind("vmlinuz-", 0) == 0) found.push_back(k.path());
  }
  if (found.empty()) return "";
  // Version order: 6.1.0-9 < 6.1.0-56 needs a numeric compare of the ABI number.
  auto abi = [](const std::string &p) {
    std::smatch m;
    static const std::regex re("vmlinuz-[0-9.]+-([0-9]+)");
    return std::regex_search(p, m, re) ? std::stoi(m[1]) : 0;
  };
  return *std::max_element(
      found.begin(), found.end(),
      [&](const std::string &a, const std::string &b) { return abi(a) < abi(b); });
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
  static const std::regex pkg_re("linux-image-6\\.1\\.0-([0-9]+)-amd64");
  auto dep = run_capture({"apt-cache", "depends", "linux-image-amd64"});
  if (dep && dep->status == 0) {
    std::smatch m;
    std::istringstream in(dep->output);
    for (std::string line; std::getline(in, line);)
      if (line.find("Depends:") != std::string::npos && std::regex_search(line, m, pkg_re) &&
          line.find("unsigned") == std::string::npos)
        return m[0].str();
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
    std::smatch m;
    if (std::regex_search(line, m, pkg_re) && std::stoi(m[1]) > best_abi) {
      best_abi = std::stoi(m[1]);
      best = m[0].str();
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
