// tierctl nodes: runs the built binary on presets and recorded machines and checks its JSON
// with Python's parser, and its usage errors.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_topology_util.hpp"

namespace {

struct Run {
  int status;
  std::string out;
};

Run run(const std::string &command) {
  Run r{-1, ""};
  FILE *p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string tierctl() {
  const char *t = std::getenv("TIERCTL");
  return t ? t : "tierctl";
}

}  // namespace

TEST_CASE("tierctl nodes --json on a preset is valid JSON with every node and its sources") {
  // Python checks the structure and prints what we compare.
  const std::string check =
      " | python3 -c 'import json,sys; d=json.load(sys.stdin); "
      "print(d[\"source\"], d[\"emulated\"], d[\"tiers\"], "
      "\",\".join(n[\"kind\"]+\":\"+str(n[\"tier\"])+\":\"+n[\"latency_source\"] for n in "
      "d[\"nodes\"]))'";
  Run r = run(tierctl() + " nodes --json --topology default" + check);
  REQUIRE(r.status == 0);
  CHECK(r.out ==
        "preset default True 4 hbm:0:preset,dram:1:preset,cxl:2:preset,cxl-pool:3:preset\n");

  const std::string fsroot = tier::test::machine_dir("dram-2cxl") + "/sysfs";
  r = run("HWLOC_FSROOT=" + fsroot + " " + tierctl() + " --json nodes --topology machine" + check);
  REQUIRE(r.status == 0);
  CHECK(r.out == "hwloc False 2 dram:0:hwloc,cxl:1:hwloc,cxl:1:hwloc\n");
}

TEST_CASE("tierctl nodes prints a table that says the topology is emulated") {
  Run r = run(tierctl() + " nodes --topology dram-2cxl");
  REQUIRE(r.status == 0);
  CHECK(r.out.find("topology: preset dram-2cxl (emulated") != std::string::npos);
  CHECK(r.out.find("cxl-x16") != std::string::npos);
  CHECK(r.out.find("250 ns (preset)") != std::string::npos);
}

TEST_CASE("tierctl refuses unknown commands, options and topologies") {
  CHECK(run(tierctl() + " frobnicate 2>/dev/null").status == 2);
  CHECK(run(tierctl() + " nodes --colour 2>/dev/null").status == 2);
  CHECK(run(tierctl() + " nodes --topology 2>/dev/null").status == 2);
  CHECK(run(tierctl() + " 2>/dev/null").status == 2);
  Run r = run(tierctl() + " nodes --topology /no/such.toml 2>&1");
  CHECK(r.status == 1);
  CHECK(r.out.find("cannot read topology file /no/such.toml") != std::string::npos);
  CHECK(run(tierctl() + " --help").status == 0);
  Run p = run(tierctl() + " presets gh200");
  CHECK(p.status == 0);
  CHECK(p.out.find("kind = \"hbm\"") != std::string::npos);
}
