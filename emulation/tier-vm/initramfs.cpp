// initramfs.cpp - assemble tier-vm's initramfs (see initramfs.hpp).
//
// Libraries come from ldd because it asks the real loader (honouring RUNPATH, $ORIGIN and
// ld.so.cache) instead of re-implementing its search; the loader's cache is copied too so that
// the guest resolves the same paths. A library that ldd prints as a symlink is stored as the
// file it points to, under the name ldd printed.
#include "initramfs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cpio.hpp"
#include "vm_process.hpp"

namespace fs = std::filesystem;

namespace tier::vm {

namespace {

Result<std::string> slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return os_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The binary's bytes, with debug sections dropped when objcopy is there.
Result<std::string> binary_bytes(const std::string &path, bool strip) {
  if (strip && !find_in_path("objcopy").empty()) {
    const std::string tmp =
        (fs::temp_directory_path() / ("tier-vm-strip-" + std::to_string(getpid()))).string();
    auto r = run_capture({"objcopy", "--strip-debug", path, tmp});
    if (r && r->status == 0) {
      auto data = slurp(tmp);
      std::error_code ec;
      fs::remove(tmp, ec);
      return data;
    }
    std::error_code ec;
    fs::remove(tmp, ec);
  }
  return slurp(path);
}

uint32_t file_mode(const std::string &path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
}

}  // namespace

Result<std::vector<std::string>> needed_libraries(const std::string &binary) {
  auto r = run_capture({"ldd", binary});
  if (!r) return make_error(TIER_ENOSYS, "ldd is missing (package libc-bin): " + r.error().message);
  std::vector<std::string> libs;
  if (r->output.find("not a dynamic executable") != std::string::npos ||
      r->output.find("statically linked") != std::string::npos)
    return libs;
  if (r->status != 0) return make_error(TIER_EINVAL, "ldd " + binary + " failed:\n" + r->output);
  std::istringstream in(r->output);
  for (std::string line; std::getline(in, line);) {
    // "\tlibx.so.1 => /lib/.../libx.so.1 (0x...)", "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
    std::string path;
    if (auto arrow = line.find("=> "); arrow != std::string::npos) {
      path = line.substr(arrow + 3);
      if (path.rfind("not found", 0) == 0)
        return make_error(TIER_EINVAL,
                          binary + " needs " +
                              line.substr(line.find_first_not_of(" \t"),
                                          line.find(" =>") - line.find_first_not_of(" \t")) +
                              ", which the loader cannot find on this host");
    } else {
      auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] != '/') continue;  // linux-vdso.so.1
      path = line.substr(first);
    }
    path = path.substr(0, path.find(" ("));
    if (!path.empty() && path.front() == '/') libs.push_back(path);
  }
  return libs;
}

std::string init_script(const InitramfsSpec &spec) {
  std::ostringstream s;
  s << "#!/bin/busybox sh\n"
       "# tier-vm's /init: mount the kernel file systems, run the command, report its status.\n"
       "# The root is already a writable tmpfs, so /tmp is not mounted over: binaries given\n"
       "# with --bin keep their host paths, and those may lie under /tmp.\n"
       "/bin/busybox mkdir -p /proc /sys /dev /tmp /run /usr/bin /usr/sbin /sbin\n"
       "/bin/busybox --install -s\n"
       "mount -t proc proc /proc\n"
       "mount -t sysfs sysfs /sys\n"
       "mount -t devtmpfs devtmpfs /dev 2>/dev/null\n"
       "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/tmp TMPDIR=/tmp\n"
       "export TIER_VM=1\n";
  // The start line tells tier-vm that the accelerator runs the guest (see vm_runner.hpp).
  s << "echo \"" << spec.marker << " up\"\n";
  for (const auto &e : spec.env) {
    auto eq = e.find('=');
    s << "export " << e.substr(0, eq) << "=" << shell_quote(e.substr(eq + 1)) << "\n";
  }
  s << "cd /tmp\n/bin/sh /tier-vm/command.sh </dev/null\nstatus=$?\n"
       "echo \""
    << spec.marker
    << " $status\"\n"
       "sync\npoweroff -f\n";
  return s.str();
}

Result<std::string> build_initramfs(const InitramfsSpec &spec) {
  if (spec.marker.empty()) return make_error(TIER_EINVAL, "initramfs: empty exit marker");
  if (spec.command.empty()) return make_error(TIER_EINVAL, "initramfs: no command to run");
  for (const auto &e : spec.env)
    if (e.find('=') == std::string::npos || e.front() == '=')
      return make_error(TIER_EINVAL, "--env " + e + ": expected NAME=value");
  if (access(spec.busybox.c_str(), R_OK) != 0)
    return make_error(TIER_ENOSYS, spec.busybox +
                                       " not found: tier-vm's initramfs is built from busybox; "
                                       "install the Debian package busybox-static");
  CpioWriter cpio;
  for (const char *d : {"/bin", "/dev", "/proc", "/sys", "/tmp", "/run", "/etc", "/tier-vm"})
    cpio.add_dir(d);
  cpio.add_char_device("/dev/console", 5, 1);  // the kernel opens it before /init runs
  cpio.add_char_device("/dev/null", 1, 3, 0666);

  std::set<std::string> libs;
  auto add_binary = [&](const std::string &host, const std::string &guest) -> Status {
    auto bytes = binary_bytes(host, spec.strip_debug);
    if (!bytes) return std::move(bytes).error();
    cpio.add_file(guest, *bytes, file_mode(host) | 0500);
    auto needed = needed_libraries(host);
    if (!needed) return std::move(needed).error();
    libs.insert(needed->begin(), needed->end());
    return {};
  };
  if (auto st = add_binary(spec.busybox, "/bin/busybox"); !st) return std::move(st).error();
  for (const auto &b : spec.binaries) {
    std::error_code ec;
    const std::string abs = fs::absolute(b, ec).lexically_normal().string();
    if (access(abs.c_str(), X_OK) != 0)
      return make_error(TIER_EINVAL, "--bin " + b + ": not an executable file");
    if (auto st = add_binary(abs, abs); !st) return std::move(st).error();
    // Also on PATH by its name, unless busybox or another binary has that name.
    const std::string short_name = "/usr/local/bin/" + fs::path(abs).filename().string();
    if (!cpio.contains(short_name)) cpio.add_symlink(short_name, abs);
  }
  for (const auto &lib : libs) {
    auto bytes = slurp(lib);
    if (!bytes) return std::move(bytes).error();
    cpio.add_file(lib, *bytes, 0755);
  }
  if (access("/etc/ld.so.cache", R_OK) == 0) {
    auto cache = slurp("/etc/ld.so.cache");
    if (cache) cpio.add_file("/etc/ld.so.cache", *cache);
  }
  for (const auto &[host, guest] : spec.files) {
    auto bytes = slurp(host);
    if (!bytes) return make_error(TIER_EINVAL, "--file " + host + ": " + bytes.error().message);
    cpio.add_file(guest, *bytes, file_mode(host));
  }

  std::string cmd = "# the command tier-vm was given\n";
  for (size_t i = 0; i < spec.command.size(); ++i)
    cmd += (i ? " " : "") + shell_quote(spec.command[i]);
  cpio.add_file("/tier-vm/command.sh", cmd + "\n", 0644);
  cpio.add_file("/init", init_script(spec), 0755);
  return cpio.finish();
}

}  // namespace tier::vm
