// Failure behaviour: a client SIGKILLed mid-epoch is cleaned up (tierd's descriptors and
// mappings return to what they were, its table entry goes); tierd SIGKILLed leaves its clients
// running, and they reconnect and are served again when a new tierd starts on the socket;
// tierd out of descriptors neither spins nor floods its log, and recovers.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_harness.hpp"

using namespace tier::test;

namespace {

int table_mappings(pid_t pid) {
  const std::string maps = read_text("/proc/" + std::to_string(pid) + "/maps");
  int n = 0;
  for (size_t at = maps.find("memfd:tier-heat"); at != std::string::npos;
       at = maps.find("memfd:tier-heat", at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("a client killed mid-epoch is cleaned up", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir);
  Client a(dir, "a", tierd.socket, 8, 2), b(dir, "b", tierd.socket, 8, 2);
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 2; }, 30));
  // Settle: both converged, so tierd has mapped, read and written their tables.
  REQUIRE(eventually([&] { return a.converged(0) && b.converged(0); }, 40));
  const int fds = settled_fds(tierd.pid);
  REQUIRE(table_mappings(tierd.pid) == 2);

  for (int round = 0; round < 3; ++round) {
    Client victim(dir, "victim" + std::to_string(round), tierd.socket, 8, 2);
    REQUIRE(eventually([&] { return client_count(tierd.socket) == 3; }, 30));
    REQUIRE(eventually([&] { return table_mappings(tierd.pid) == 3; }, 30));
    // Shift its hot set so epochs are busy with it when it dies.
    write_text(victim.phase_file, "1\n");
    ::kill(victim.pid, SIGKILL);
    wait_exit(victim.pid, 30);
    victim.pid = -1;
    CHECK(eventually([&] { return client_count(tierd.socket) == 2; }, 30));
    CHECK(eventually([&] { return count_fds(tierd.pid) == fds; }, 30));
    CHECK(table_mappings(tierd.pid) == 2);
  }
  CHECK(tierd.log().find("left: ") != std::string::npos);
  // The others are still served.
  write_text(a.phase_file, "2\n");
  write_text(b.phase_file, "3\n");
  CHECK(eventually([&] { return a.converged(2) && b.converged(3); }, 40));
}

TEST_CASE("clients survive tierd's death and reconnect to a new tierd", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir);
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < 3; ++i)
    cs.push_back(std::make_unique<Client>(dir, "c" + std::to_string(i), tierd.socket, 8, 2));
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 3; }, 30));
  for (auto &c : cs) REQUIRE(eventually([&] { return c->converged(0); }, 40));

  tierd.kill9();
  // Clients keep running (their rounds advance) without tierd.
  for (auto &c : cs) {
    const std::string before = read_text(c->status_file);
    CHECK(eventually([&] { return read_text(c->status_file) != before; }, 20));
    CHECK(alive(c->pid));
  }
  // A new tierd on the same socket: every client comes back (backoff is at most 2 s).
  tierd.start();
  CHECK(eventually([&] { return client_count(tierd.socket) == 3; }, 40));
  // ... and is served: a shifted hot set converges again.
  for (auto &c : cs) write_text(c->phase_file, "1\n");
  for (auto &c : cs) CHECK(eventually([&] { return c->converged(1); }, 40));
  for (auto &c : cs) {
    ::kill(c->pid, SIGTERM);
    CHECK(wait_exit(c->pid, 30) == 0);
    c->pid = -1;
  }
}

TEST_CASE("the in-process agent stands aside while tierd serves, and takes over without it",
          "[daemon]") {
  TempDir dir;
  Tierd tierd(dir);
  Client c(dir, "c", tierd.socket, 8, 2, {}, "tier:1", /*agent=*/true);
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 1; }, 30));
  REQUIRE(eventually([&] { return c.converged(0); }, 40));
  tierd.kill9();
  // No tierd: the process's own agent follows the shift.
  write_text(c.phase_file, "2\n");
  CHECK(eventually([&] { return c.converged(2); }, 40));
  // tierd back: it serves the process again (the agent stands aside).
  tierd.start();
  CHECK(eventually([&] { return client_count(tierd.socket) == 1; }, 40));
  write_text(c.phase_file, "3\n");
  CHECK(eventually([&] { return c.converged(3); }, 40));
  ::kill(c.pid, SIGTERM);
  CHECK(wait_exit(c.pid, 30) == 0);
  c.pid = -1;
}

TEST_CASE("TIER_DAEMON=required fails registration without tierd; off never connects", "[daemon]") {
  TempDir dir;
  Client req(dir, "req", dir.file("absent.sock"), 2, 1, {"TIER_DAEMON=required"});
  const int st = wait_exit(req.pid, 30);
  req.pid = -1;
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 2);
  CHECK(read_text(req.log_path).find("TIER_DAEMON=required") != std::string::npos);

  Tierd tierd(dir);
  Client off(dir, "off", tierd.socket, 2, 1, {"TIER_DAEMON=off"});
  Client on(dir, "on", tierd.socket, 2, 1);
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 1; }, 30));
  // Give "off" every chance to connect, then check it never did.
  CHECK(eventually([&] { return !read_text(off.status_file).empty(); }, 30));
  const auto list = clients(tierd.socket);
  REQUIRE(list.size() == 1);
  CHECK(list[0].pid == on.pid);
}

TEST_CASE("SIGHUP reloads and says what changed; SIGTERM exits cleanly", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir);
  ::kill(tierd.pid, SIGHUP);
  CHECK(eventually([&] { return tierd.log().find("SIGHUP:") != std::string::npos; }, 20));
  Client c(dir, "c", tierd.socket, 2, 1);
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 1; }, 30));
  ::kill(tierd.pid, SIGTERM);
  const int st = wait_exit(tierd.pid, 30);
  tierd.pid = -1;
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(::access(tierd.socket.c_str(), F_OK) != 0);  // its socket is gone
  CHECK(alive(c.pid));                               // the client carries on
}

TEST_CASE("out of descriptors, tierd backs accept off, logs a few lines and recovers", "[daemon]") {
  // prlimit (util-linux) sets the limits and execs tierd, so tierd starts with them.
  const std::string prlimit = "/usr/bin/prlimit";
  REQUIRE(::access(prlimit.c_str(), X_OK) == 0);
  TempDir dir;
  Tierd tierd(dir, {}, {prlimit, "--nofile=32:64", "--"});
  REQUIRE(client_count(tierd.socket) >= 0);
  // tierd lifts its soft limit to the hard one itself.
  CHECK(tierd.log().find("raised from 32 to the hard limit 64") != std::string::npos);

  // More connections than tierd has descriptors: the kernel queues the rest (backlog 256).
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 100; ++i) {
    held.push_back(std::make_unique<RawClient>(tierd.socket));
    REQUIRE(held.back()->connected());
  }
  const std::string emfile = std::string("accept: ") + std::strerror(EMFILE);
  REQUIRE(eventually([&] { return tierd.log().find(emfile) != std::string::npos; }, 20));
  // Starved, tierd waits between accepts rather than spinning: over 3 s it uses a small
  // fraction of one core (re-arming at once took all of one).
  const double cpu_before = cpu_seconds(tierd.pid);
  ::sleep(3);
  const double cpu_used = cpu_seconds(tierd.pid) - cpu_before;
  CHECK(cpu_before >= 0);
  CHECK(cpu_used < 0.3);
  CHECK(alive(tierd.pid));

  // Descriptors back: tierd accepts what was queued and answers tierctl again.
  held.clear();
  const pid_t ctl = spawn({env_or_skip("TIERCTL_BIN"), "--socket", tierd.socket, "status"}, {},
                          dir.file("tierctl.log"));
  const int st = wait_exit(ctl, 5);
  INFO("tierctl: " << read_text(dir.file("tierctl.log")));
  CHECK(st == 0);
  CHECK(eventually(
      [&] { return tierd.log().find("accept: working again after") != std::string::npos; }, 10));
  // The log stayed small: a line when the failures began and one when they ended (a report a
  // minute in between), not one per failure.
  int accept_lines = 0;
  std::istringstream log(tierd.log());
  for (std::string line; std::getline(log, line);)
    if (line.find("accept") != std::string::npos) ++accept_lines;
  INFO("tierd's log:\n" << tierd.log());
  CHECK(accept_lines < 50);
  CHECK(accept_lines >= 2);
}
