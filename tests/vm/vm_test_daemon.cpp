// Runs inside tier-vm (three-node.toml: DRAM node 0 with the CPUs, CPU-less HBM node 1 and CXL
// node 2). tierd discovers the real nodes; a client process places its blocks on the CXL node
// and touches a hot set; tierd, not the client (which runs no agent of its own), moves the hot
// blocks to the HBM node with move_pages(2) on the client's pid, and follows a shifted hot set.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "daemon_harness.hpp"

using namespace tier::test;

TEST_CASE("tierd moves a client's pages across real NUMA nodes", "[daemon][vm]") {
  ::setenv("TIERD_BIN", TIERD_PATH, 1);
  ::setenv("TIER_DAEMON_CLIENT_BIN", CLIENT_PATH, 1);
  ::setenv("TIER_DAEMON_TOPOLOGY", "machine", 1);  // discovery: the VM's real nodes
  TempDir dir;
  Tierd tierd(dir);
  REQUIRE(client_count(tierd.socket) == 0);
  INFO("tierd log: " << tierd.log());
  REQUIRE(tierd.log().find("real NUMA: move_pages") != std::string::npos);

  Client c(dir, "c", tierd.socket, 8, 2, {}, "tier:2");
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 1; }, 60));
  // Nothing starts on the fast tier: the client placed everything on CXL.
  CHECK(eventually([&] { return !read_text(c.status_file).empty(); }, 60));
  INFO("client log: " << read_text(c.log_path) << "\ntierd log: " << tierd.log());
  REQUIRE(eventually([&] { return c.converged(0); }, 120));
  write_text(c.phase_file, "1\n");
  REQUIRE(eventually([&] { return c.converged(1); }, 120));
  const auto list = clients(tierd.socket);
  REQUIRE(list.size() == 1);
  CHECK(list[0].bytes_per_tier[0] >= 4u << 20);  // tierd sees them on tier 0 (HBM)
  CHECK(list[0].refusals == 0);
}
