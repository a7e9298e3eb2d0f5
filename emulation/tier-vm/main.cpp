// tier-vm - boot Debian's kernel in QEMU with the NUMA nodes and ACPI HMAT figures of a Tier
// topology, run one command inside, and return its exit status.
//
//   tier-vm --topology <file|preset> [options] -- <command> [args...]
//
// Exit status: the command's; 124 when the time limit killed the VM; 125 when tier-vm itself
// could not do its job (bad arguments, no QEMU, no kernel, the VM died without reporting).
// Timing inside the VM means nothing (TCG); only the kernel's mechanics are real.
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "initramfs.hpp"
#include "kernel_cache.hpp"
#include "topology/topology.hpp"
#include "vm_plan.hpp"
#include "vm_process.hpp"
#include "vm_runner.hpp"

namespace fs = std::filesystem;
using namespace tier;

namespace {

constexpr int kExitTimeout = 124;
constexpr int kExitHarness = 125;

const char *kUsage =
    "usage: tier-vm --topology <file|preset> [options] -- <command> [args...]\n"
    "\n"
    "Boots Debian's 6.1 kernel under QEMU with one NUMA node per topology node (hbm, cxl and\n"
    "cxl-pool nodes CPU-less), ACPI HMAT latencies and bandwidths from the topology, and runs\n"
    "<command> in a busybox initramfs. Exit status: the command's; 124 on timeout; 125 when\n"
    "tier-vm failed.\n"
    "\n"
    "options:\n"
    "  --topology T     a topology file, or a preset (default, xeon-max-flat, gh200, dram-2cxl,\n"
    "                   cxl-switched-pool)\n"
    "  --timeout S      kill the VM after S seconds (default 300)\n"
    "  --memory M       VM memory in MiB, or with a G/M suffix (default max(2G, node floors))\n"
    "  --cpus N         vCPUs, spread over the DRAM nodes (default 2)\n"
    "  --bin PATH       copy an executable (and the libraries it needs) to the same path in\n"
    "                   the VM, and link it into /usr/local/bin; repeatable\n"
    "  --file SRC[:DST] copy a file (to DST, default its own path); repeatable\n"
    "  --env NAME=VALUE set a variable for the command; repeatable\n"
    "  --kernel PATH    boot this bzImage (default: $TIER_VM_KERNEL, else Debian's\n"
    "                   linux-image-6.1.0-*-amd64 fetched once into the cache)\n"
    "  --cache DIR      kernel cache (default $TIER_VM_CACHE, $XDG_CACHE_HOME/tier-vm or\n"
    "                   ~/.cache/tier-vm)\n"
    "  --qemu PATH      the QEMU binary (default qemu-system-x86_64 on PATH)\n"
    "  --accel LIST     accelerators to try in order, comma-separated: kvm, tcg, or auto\n"
    "                   (default $TIER_VM_ACCEL, else auto: kvm,tcg when /dev/kvm answers,\n"
    "                   else tcg). Every one but the last must start the guest's /init\n"
    "                   within --accel-probe seconds, or QEMU is killed and the next is tried\n"
    "  --accel-probe S  seconds an accelerator may take to start /init (default 20)\n"
    "  --no-strip       keep debug info in copied binaries\n"
    "  --print-args     print the QEMU command line and exit without booting\n"
    "  --quiet          do not print the node table before booting\n";

struct Args {
  std::string topology;
  double timeout_s = 300;
  uint64_t memory_mib = 0;
  int cpus = 2;
  std::vector<std::string> bins;
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<std::string> env;
  std::string kernel, cache, qemu;
  std::string accel;  // empty: $TIER_VM_ACCEL, else auto
  double accel_probe_s = 20;
  bool strip = true, print_args = false, quiet = false;
  std::vector<std::string> command;
};

[[noreturn]] void usage_error(const std::string &msg) {
  std::cerr << "tier-vm: " << msg << "\n\n" << kUsage;
  std::exit(kExitHarness);
}

uint64_t parse_mib(const std::string &s) {
  size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &used);
  } catch (...) {
    usage_error("--memory " + s + ": expected MiB, or a number with M or G");
  }
  std::string suffix = s.substr(used);
  if (suffix == "G" || suffix == "GiB") return v * 1024;
  if (suffix.empty() || suffix == "M" || suffix == "MiB") return v;
  usage_error("--memory " + s + ": unknown suffix '" + suffix + "' (use M or G)");
}

Args parse_args(int argc, char **argv) {
  Args a;
  int i = 1;
  auto value = [&](const std::string &opt) -> std::string {
    if (i + 1 >= argc) usage_error(opt + " needs a value");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    const std::string o = argv[i];
    if (o == "--") {
      for (++i; i < argc; ++i) a.command.push_back(argv[i]);
      break;
    }
    if (o == "--help" || o == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (o == "--topology") {
      a.topology = value(o);
    } else if (o == "--timeout") {
      const std::string v = value(o);
      char *end = nullptr;
      a.timeout_s = std::strtod(v.c_str(), &end);
      if (!end || *end || !(a.timeout_s > 0))
        usage_error("--timeout " + v + ": expected seconds > 0");
    } else if (o == "--memory") {
      a.memory_mib = parse_mib(value(o));
    } else if (o == "--cpus") {
      const std::string v = value(o);
      a.cpus = std::atoi(v.c_str());
      if (a.cpus < 1 || a.cpus > 64) usage_error("--cpus " + v + ": expected 1..64");
    } else if (o == "--bin") {
      a.bins.push_back(value(o));
    } else if (o == "--file") {
      const std::string v = value(o);
      const auto colon = v.find(':');
      if (colon == std::string::npos) {
        a.files.emplace_back(v, fs::absolute(v).lexically_normal().string());
      } else {
        a.files.emplace_back(v.substr(0, colon), v.substr(colon + 1));
        if (a.files.back().second.empty() || a.files.back().second.front() != '/')
          usage_error("--file " + v + ": the VM path must be absolute");
      }
    } else if (o == "--env") {
      a.env.push_back(value(o));
    } else if (o == "--kernel") {
      a.kernel = value(o);
    } else if (o == "--cache") {
      a.cache = value(o);
    } else if (o == "--qemu") {
      a.qemu = value(o);
    } else if (o == "--accel") {
      a.accel = value(o);
    } else if (o == "--accel-probe") {
      const std::string v = value(o);
      char *end = nullptr;
      a.accel_probe_s = std::strtod(v.c_str(), &end);
      if (!end || *end || !(a.accel_probe_s > 0))
        usage_error("--accel-probe " + v + ": expected seconds > 0");
    } else if (o == "--no-strip") {
      a.strip = false;
    } else if (o == "--print-args") {
      a.print_args = true;
    } else if (o == "--quiet") {
      a.quiet = true;
    } else {
      usage_error("unknown option " + o);
    }
  }
  if (a.topology.empty()) usage_error("--topology is required");
  if (a.command.empty()) usage_error("no command given after --");
  return a;
}

// The topology a file or preset describes, against this machine's nodes (which only decide
// `backing` checks and percentage capacities; the VM gets its own nodes).
Result<Topology> load(const std::string &spec) {
  auto machine = discover();
  Topology m;
  if (machine) {
    m = std::move(*machine);
  } else {
    Node n;
    n.id = 0;
    n.name = "node0";
    n.kind = TIER_KIND_DRAM;
    n.total = n.capacity = 16ull << 30;
    m.nodes.push_back(n);
    m.source = "assumed one-node machine";
  }
  std::error_code ec;
  if (fs::is_regular_file(spec, ec)) return load_topology_file(spec, m);
  for (const auto &p : preset_names())
    if (p == spec) return load_preset(spec, m);
  std::string names;
  for (const auto &p : preset_names()) names += (names.empty() ? "" : ", ") + p;
  return make_error(TIER_ETOPOLOGY,
                    "--topology " + spec + ": no such file, and not a preset (" + names + ")");
}

// /dev/kvm answering its ioctls says KVM may work, not that it does: under nested
// virtualisation it can accept a guest and then hang it, or make QEMU abort on an MSR. So
// `auto` only orders the candidates; the boot itself (the start deadline) decides.
bool kvm_answers() {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION &&
                  ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0;
  close(fd);
  return ok;
}

std::vector<std::string> accelerators(const std::string &requested) {
  std::string spec = requested;
  if (spec.empty())
    if (const char *e = std::getenv("TIER_VM_ACCEL"); e && *e) spec = e;
  if (spec.empty() || spec == "auto")
    return kvm_answers() ? std::vector<std::string>{"kvm", "tcg"} : std::vector<std::string>{"tcg"};
  std::vector<std::string> out;
  size_t from = 0;
  for (;;) {
    const size_t comma = spec.find(',', from);
    const std::string one = spec.substr(from, comma - from);
    if (one != "kvm" && one != "tcg")
      usage_error("--accel " + spec + ": '" + one + "' is not kvm, tcg or auto");
    out.push_back(one);
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return out;
}

std::vector<std::string> accel_args(const std::string &accel) {
  if (accel == "kvm") return {"-accel", "kvm", "-cpu", "host"};
  return {"-accel", "tcg"};
}

}  // namespace

int main(int argc, char **argv) {
  const Args args = parse_args(argc, argv);

  auto topo = load(args.topology);
  if (!topo) {
    std::cerr << "tier-vm: " << topo.error().message << "\n";
    return kExitHarness;
  }
  vm::PlanOptions po;
  po.memory_mib = args.memory_mib;
  po.cpus = args.cpus;
  auto plan = vm::plan_vm(*topo, po);
  if (!plan) {
    std::cerr << plan.error().message << "\n";
    return kExitHarness;
  }

  std::string qemu = args.qemu.empty() ? "qemu-system-x86_64" : args.qemu;
  const std::string qemu_path = vm::find_in_path(qemu);
  if (qemu_path.empty() && !args.print_args) {
    std::cerr << "tier-vm: " << qemu
              << " not found: install the Debian package qemu-system-x86 (scripts/deps.sh "
                 "does), or pass --qemu PATH\n";
    return kExitHarness;
  }

  std::string kernel = args.kernel;
  if (kernel.empty())
    if (const char *k = std::getenv("TIER_VM_KERNEL"); k && *k) kernel = k;
  if (kernel.empty() && !args.print_args) {
    auto k = vm::find_or_fetch_kernel(args.cache.empty() ? vm::default_cache_dir() : args.cache,
                                      std::cerr);
    if (!k) {
      std::cerr << "tier-vm: " << k.error().message << "\n";
      return kExitHarness;
    }
    kernel = *k;
  }
  if (!kernel.empty() && access(kernel.c_str(), R_OK) != 0 && !args.print_args) {
    std::cerr << "tier-vm: cannot read the kernel image " << kernel << "\n";
    return kExitHarness;
  }

  const std::string marker = vm::make_marker();
  const std::string initrd =
      (fs::temp_directory_path() / ("tier-vm-" + std::to_string(getpid()) + ".cpio")).string();

  const std::vector<std::string> accels = accelerators(args.accel);
  std::vector<std::string> q = {qemu_path.empty() ? qemu : qemu_path};
  const auto numa = plan->qemu_args();
  q.insert(q.end(), numa.begin(), numa.end());
  q.insert(q.end(), {"-kernel", kernel.empty() ? "<kernel>" : kernel, "-initrd", initrd, "-append",
                     "console=ttyS0 rdinit=/init quiet loglevel=4 panic=-1 mitigations=off "
                     "numa_balancing=disable",
                     "-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none",
                     "-net", "none", "-no-reboot"});
  if (args.print_args) {
    std::vector<std::string> shown = q;
    const auto acc = accel_args(accels.front());
    shown.insert(shown.begin() + 1, acc.begin(), acc.end());
    for (size_t i = 0; i < shown.size(); ++i)
      std::cout << (i ? " " : "") << vm::shell_quote(shown[i]);
    std::cout << "\n";
    return 0;
  }
  if (!args.quiet) std::cerr << plan->describe();

  vm::InitramfsSpec spec;
  spec.binaries = args.bins;
  spec.files = args.files;
  spec.env = args.env;
  spec.command = args.command;
  spec.marker = marker;
  spec.strip_debug = args.strip;
  auto image = vm::build_initramfs(spec);
  if (!image) {
    std::cerr << "tier-vm: " << image.error().message << "\n";
    return kExitHarness;
  }
  {
    std::ofstream out(initrd, std::ios::binary | std::ios::trunc);
    out.write(image->data(), static_cast<std::streamsize>(image->size()));
    if (!out) {
      std::cerr << "tier-vm: cannot write " << initrd << "\n";
      return kExitHarness;
    }
  }

  Result<vm::RunResult> run = make_error(TIER_EINVAL, "no accelerator tried");
  std::string used;
  for (size_t i = 0; i < accels.size(); ++i) {
    const bool last = i + 1 == accels.size();
    vm::RunOptions ro;
    ro.argv = q;
    const auto acc = accel_args(accels[i]);
    ro.argv.insert(ro.argv.begin() + 1, acc.begin(), acc.end());
    ro.timeout_s = args.timeout_s;
    ro.marker = marker;
    if (!last) ro.start_deadline_s = std::min(args.accel_probe_s, args.timeout_s);
    run = vm::run_vm(ro, std::cout);
    used = accels[i];
    if (!run || run->started || last) break;
    std::cerr << "tier-vm: " << accels[i] << " did not start the guest ("
              << (run->start_timed_out
                      ? "no start line within " + std::to_string(int(ro.start_deadline_s)) + " s"
                      : "QEMU exited with status " + std::to_string(run->qemu_status))
              << "); trying " << accels[i + 1] << "\n";
  }
  std::error_code ec;
  fs::remove(initrd, ec);
  if (!run) {
    std::cerr << "tier-vm: " << run.error().message << "\n";
    return kExitHarness;
  }
  if (!args.quiet) std::cerr << "tier-vm: accelerator " << used << "\n";
  if (run->timed_out) {
    std::cerr << "tier-vm: time limit of " << args.timeout_s << " s reached; QEMU killed\n";
    return kExitTimeout;
  }
  if (!run->marker_seen) {
    std::cerr << "tier-vm: the VM stopped (QEMU status " << run->qemu_status
              << ") without reporting the command's exit status; see the console output above\n";
    return kExitHarness;
  }
  if (!args.quiet)
    std::cerr << "tier-vm: command exited with status " << run->command_status << " after "
              << static_cast<int>(run->seconds * 10) / 10.0 << " s\n";
  return run->command_status;
}
