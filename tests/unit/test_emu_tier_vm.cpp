// tier-vm without booting: the QEMU NUMA/HMAT arguments a topology becomes, the memory
// scaling, the newc archive format, and the exit marker.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cpio.hpp"
#include "initramfs.hpp"
#include "kernel_cache.hpp"
#include "topology/topology.hpp"
#include "vm_plan.hpp"
#include "vm_runner.hpp"

using namespace tier;

namespace {

Topology three_nodes() {
  const char *text = R"(
[[node]]
id = 0
kind = "dram"
capacity = "64GiB"
backing = 0
read_latency_ns = 100
write_latency_ns = 110
read_bandwidth_gbps = 100
write_bandwidth_gbps = 80
[[node]]
id = 1
kind = "hbm"
capacity = "16GiB"
backing = 0
read_latency_ns = 90
read_bandwidth_gbps = 400
[[node]]
id = 2
kind = "cxl"
capacity = "128GiB"
backing = 0
read_latency_ns = 250
read_bandwidth_gbps = 20
)";
  Topology machine;
  Node n;
  n.id = 0;
  n.kind = TIER_KIND_DRAM;
  n.total = n.capacity = 32ull << 30;
  n.cpus = {0};
  machine.nodes.push_back(n);
  auto t = parse_topology_toml(text, "three.toml", machine);
  INFO((t.ok() ? "" : t.error().message));
  REQUIRE(t.ok());
  return *t;
}

bool has(const std::vector<std::string> &args, const std::string &a) {
  return std::find(args.begin(), args.end(), a) != args.end();
}

}  // namespace

TEST_CASE("tier-vm: CPU-less nodes for HBM and CXL, with DRAM as their initiator") {
  auto plan = vm::plan_vm(three_nodes());
  REQUIRE(plan.ok());
  REQUIRE(plan->nodes.size() == 3);
  CHECK(plan->nodes[0].cpus == std::vector<int>{0, 1});
  CHECK(plan->nodes[1].cpus.empty());
  CHECK(plan->nodes[2].cpus.empty());
  const auto a = plan->qemu_args();
  CHECK(has(a, "hmat=on"));
  CHECK(has(a, "node,nodeid=0,memdev=mem0,cpus=0-1"));
  CHECK(has(a, "node,nodeid=1,memdev=mem1,initiator=0"));
  CHECK(has(a, "node,nodeid=2,memdev=mem2,initiator=0"));
  // Figures straight from the file; write figures fall back to the read ones, and bandwidth
  // is given in MiB units so the guest reads back the same number as "MB/s".
  CHECK(
      has(a, "hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=write-latency,latency=110"));
  CHECK(has(a, "hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=read-latency,latency=250"));
  CHECK(has(
      a,
      "hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=read-bandwidth,bandwidth=20000M"));
  CHECK(has(
      a,
      "hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=write-bandwidth,bandwidth=400000M"));
  // Distance follows the latency ratio; never below 11 between distinct nodes.
  CHECK(plan->distance[0][2] == 25);
  CHECK(plan->distance[0][1] == 11);
  CHECK(has(a, "dist,src=2,dst=0,val=25"));
}

TEST_CASE("tier-vm: memory is floors plus shares by declared capacity, summing to -m") {
  vm::PlanOptions o;
  o.memory_mib = 3072;
  auto plan = vm::plan_vm(three_nodes(), o);
  REQUIRE(plan.ok());
  uint64_t sum = 0;
  for (const auto &n : plan->nodes) {
    sum += n.memory_mib;
    CHECK(n.memory_mib % 2 == 0);
    CHECK(n.memory_mib >= (n.cpus.empty() ? o.cpuless_node_floor_mib : o.cpu_node_floor_mib));
  }
  CHECK(sum == 3072);
  CHECK(plan->nodes[2].memory_mib > plan->nodes[1].memory_mib);  // 128 GiB vs 16 GiB declared
  CHECK(has(plan->qemu_args(), "3072M"));

  o.memory_mib = 1000;  // below 512 + 2 x 384
  auto small = vm::plan_vm(three_nodes(), o);
  REQUIRE_FALSE(small.ok());
  CHECK(small.error().message.find("1280 MiB") != std::string::npos);
}

TEST_CASE("tier-vm: refuses a topology without DRAM for the vCPUs, or too few vCPUs") {
  Topology t = three_nodes();
  t.nodes.erase(std::remove_if(t.nodes.begin(), t.nodes.end(),
                               [](const Node &n) { return n.kind == TIER_KIND_DRAM; }),
                t.nodes.end());
  auto p = vm::plan_vm(t);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().message.find("no DRAM node") != std::string::npos);

  Topology two = three_nodes();
  Node extra = *two.find(0);
  extra.id = 7;
  two.nodes.push_back(extra);
  vm::PlanOptions o;
  o.cpus = 1;
  auto q = vm::plan_vm(two, o);
  REQUIRE_FALSE(q.ok());
  CHECK(q.error().message.find("--cpus 2") != std::string::npos);
}

TEST_CASE("tier-vm: newc archive entries are well formed and 4-byte aligned") {
  vm::CpioWriter w;
  w.add_file("/a/b/file", "hello", 0644);
  w.add_char_device("/dev/console", 5, 1);
  w.add_file("/a/b/file", "second copy is ignored", 0644);
  const std::string out = w.finish();
  REQUIRE(out.size() % 4 == 0);
  REQUIRE(out.compare(0, 6, "070701") == 0);
  // Walk the archive: a, a/b, a/b/file, dev, dev/console, TRAILER!!!.
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < out.size()) {
    REQUIRE(out.compare(pos, 6, "070701") == 0);
    auto field = [&](int i) { return std::stoul(out.substr(pos + 6 + 8 * i, 8), nullptr, 16); };
    const size_t filesize = field(6), namesize = field(11);
    const std::string name = out.substr(pos + 110, namesize - 1);
    names.push_back(name);
    if (name == "dev/console") {
      CHECK(field(9) == 5);
      CHECK(field(10) == 1);
    }
    if (name == "a/b/file")
      CHECK(out.substr((pos + 110 + namesize + 3) & ~size_t{3}, filesize) == "hello");
    pos = (pos + 110 + namesize + 3) & ~size_t{3};
    pos = (pos + filesize + 3) & ~size_t{3};
    if (name == "TRAILER!!!") break;
  }
  CHECK(names ==
        std::vector<std::string>{"a", "a/b", "a/b/file", "dev", "dev/console", "TRAILER!!!"});
}

TEST_CASE("tier-vm: /init announces its start before the command, with the run's marker") {
  const std::string m = vm::make_marker();
  CHECK(vm::is_start_line(m + " up", m));
  CHECK(vm::is_start_line("[  0.9] x " + m + " up\r", m));
  CHECK_FALSE(vm::is_start_line(m + " 0", m));
  CHECK_FALSE(vm::is_start_line("TIER-VM-EXIT-0000000000000000 up", m));
  vm::InitramfsSpec spec;
  spec.marker = m;
  spec.command = {"true"};
  const std::string init = vm::init_script(spec);
  const auto up = init.find("echo \"" + m + " up\"");
  REQUIRE(up != std::string::npos);
  CHECK(up < init.find("/tier-vm/command.sh"));
}

TEST_CASE("tier-vm: the exit marker is unique per run and parsed strictly") {
  const std::string m = vm::make_marker();
  CHECK(m != vm::make_marker());
  CHECK(vm::parse_marker_line(m + " 0", m) == 0);
  CHECK(vm::parse_marker_line(m + " 42\r", m) == 42);
  CHECK(vm::parse_marker_line("[  1.0] noise " + m + " 3", m) == 3);
  CHECK(vm::parse_marker_line(m + " 300", m) == -1);
  CHECK(vm::parse_marker_line(m + " x", m) == -1);
  CHECK(vm::parse_marker_line("TIER-VM-EXIT-0000000000000000 0", m) == -1);

  vm::InitramfsSpec spec;
  spec.marker = m;
  spec.command = {"true"};
  spec.env = {"A=it's"};
  const std::string init = vm::init_script(spec);
  CHECK(init.find("echo \"" + m + " $status\"") != std::string::npos);
  CHECK(init.find("export A='it'\\''s'") != std::string::npos);
  CHECK(init.find("poweroff -f") != std::string::npos);
}

TEST_CASE("tier-vm: the newest cached kernel wins by ABI number, without fetching") {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("tier-vm-cache-test-" + std::to_string(getpid()));
  for (const char *abi : {"9", "56", "47"}) {
    const fs::path boot = dir / (std::string("linux-image-6.1.0-") + abi + "-amd64") / "boot";
    fs::create_directories(boot);
    std::ofstream(boot / (std::string("vmlinuz-6.1.0-") + abi + "-amd64")) << "bzImage";
  }
  fs::create_directories(dir / "linux-image-6.1.0-99-amd64");  // incomplete: no boot/
  std::ostringstream log;
  auto k = vm::find_or_fetch_kernel(dir.string(), log);
  REQUIRE(k.ok());
  CHECK(fs::path(*k).filename() == "vmlinuz-6.1.0-56-amd64");
  CHECK(log.str().empty());  // nothing fetched
  fs::remove_all(dir);
}
