// Four client processes whose hot sets differ and shift: tierd, planning for all of them at
// once on the emulated two-tier topology, brings every hot block onto the fast tier, and again
// after each client's hot set moves. Deadlines are generous; convergence is what is checked.
#include <signal.h>

#include <catch2/catch.hpp>
#include <memory>

#include "daemon_harness.hpp"

using namespace tier::test;

TEST_CASE("four clients' shifting hot sets converge onto the fast tier", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir);
  REQUIRE(client_count(tierd.socket) == 0);
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < 4; ++i)
    cs.push_back(std::make_unique<Client>(dir, "c" + std::to_string(i), tierd.socket, 8, 2));
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 4; }, 30));

  for (int phase = 0; phase < 3; ++phase) {
    // Clients shift at different times: client i moves to the new phase only after the
    // previous ones converged, so hot sets differ between clients all along.
    for (auto &c : cs) {
      write_text(c->phase_file, std::to_string(phase) + "\n");
      INFO("phase " << phase << ", client log: " << read_text(c->log_path)
                    << "\ntierd log: " << tierd.log());
      REQUIRE(eventually([&] { return c->converged(phase); }, 40));
    }
    // Every client stays converged (nobody's hot blocks were evicted for another's).
    for (auto &c : cs) CHECK(eventually([&] { return c->converged(phase); }, 20));
  }
  // tierd saw all four, with their chunks spread over both tiers.
  std::vector<tier::daemon_proto::ClientStatus> list = clients(tierd.socket);
  REQUIRE(list.size() == 4);
  for (const auto &c : list) {
    CHECK(c.chunks == 8);
    CHECK(c.bytes_per_tier[0] >= 2 * (2u << 20));
    CHECK(c.refusals == 0);
  }
  for (auto &c : cs) {
    ::kill(c->pid, SIGTERM);
    CHECK(wait_exit(c->pid, 30) == 0);  // contents intact after all the moves
    c->pid = -1;
  }
}
