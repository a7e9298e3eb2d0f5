// test_pool_tierd.cpp - tierd with a file pool and real client processes (issue #13), on the
// embedded store (one host): the client's blocks on the pool node become demand and the
// manager's grants follow it; extents the fabric manager asks back are emptied by moving the
// blocks to DRAM before they are released, with every byte of the client's blocks kept (the
// client checks its pattern when it exits); a tierd SIGKILLed in the middle of a give-back is
// restarted, adopts its extents from the device and finishes the give-back.
// The test plays the fabric manager's part of asking back through the device's own command
// (request_release), as an operator or another host's manager would.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "../integration/daemon_harness.hpp"
#include "pool/file_device.hpp"

using namespace tier;
using namespace tier::test;
namespace dp = tier::daemon_proto;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

struct PoolRig {
  PoolRig() : pool_path("/dev/shm/tier-pool-test-" + std::to_string(::getpid())) {
    ::unlink(pool_path.c_str());
    config = dir.file("tierd.toml");
    write_text(config, "[pool]\nbackend = \"file\"\npath = \"" + pool_path +
                           "\"\nsize = \"16MiB\"\nextent_size = \"4MiB\"\n"
                           "giveback_timeout_ms = 20000\n");
  }
  ~PoolRig() { ::unlink(pool_path.c_str()); }
  std::vector<std::string> tierd_args() const {
    return {"--config", config, "--policy", "first-touch"};
  }
  TempDir dir;
  std::string pool_path, config;
};

nlohmann::json pool_state(const std::string &socket) {
  std::vector<char> r = control(socket, dp::MsgType::kCtlPool);
  if (r.size() < offsetof(dp::PoolReply, json)) return {};
  uint32_t n = 0;
  std::memcpy(&n, r.data() + offsetof(dp::PoolReply, length), sizeof n);
  if (offsetof(dp::PoolReply, json) + n != r.size()) return {};
  return nlohmann::json::parse(std::string(r.data() + offsetof(dp::PoolReply, json), n), nullptr,
                               false);
}

uint64_t held(const nlohmann::json &j) {
  return j.is_object() ? j["this_host"].value("held", uint64_t{0}) : 0;
}

// Bytes of the client's blocks tierd sees on tier 0 (DRAM) and tier 1 (the pool).
std::pair<uint64_t, uint64_t> client_tiers(const std::string &socket) {
  std::vector<dp::ClientStatus> cs = clients(socket);
  if (cs.empty()) return {0, 0};
  return {cs[0].bytes_per_tier[0], cs[0].bytes_per_tier[1]};
}

// Asks back extents of host 0 totalling `bytes` through the device, as a fabric manager.
std::set<std::string> ask_back(const std::string &path, uint64_t bytes) {
  std::set<std::string> tags;
  auto dev = pool::FileDevice::open(path);
  REQUIRE(dev);
  auto t = (*dev)->table();
  REQUIRE(t);
  uint64_t asked = 0;
  for (const pool::Extent &e : t->extents) {
    if (asked >= bytes || e.state != pool::ExtentState::kAccepted) continue;
    REQUIRE((*dev)->request_release(e.tag));
    tags.insert(e.tag.text());
    asked += e.length;
  }
  REQUIRE(asked >= bytes);
  return tags;
}

bool released(const std::string &path, const std::set<std::string> &tags) {
  auto dev = pool::FileDevice::open(path);
  if (!dev) return false;
  auto t = (*dev)->table();
  if (!t) return false;
  for (const pool::Extent &e : t->extents)
    if (tags.count(e.tag.text())) return false;
  return true;
}

int client_exit(Client &c) {
  ::kill(c.pid, SIGTERM);
  const int status = wait_exit(c.pid, 30);
  c.pid = -1;
  return status;
}

}  // namespace

TEST_CASE("demand on the pool node is granted; a give-back moves the blocks off and keeps them",
          "[pool]") {
  PoolRig rig;
  Tierd tierd(rig.dir, rig.tierd_args());
  // Before any client: one extent of headroom.
  REQUIRE(eventually([&] { return held(pool_state(tierd.socket)) == 4 * kMiB; }, 30));

  // Six 2 MiB blocks on the pool tier: demand is 12 MiB + 4 MiB of headroom.
  Client c(rig.dir, "c", tierd.socket, 6, 1, {}, "tier:1");
  REQUIRE(eventually([&] { return client_tiers(tierd.socket).second == 12 * kMiB; }, 30));
  REQUIRE(eventually([&] { return held(pool_state(tierd.socket)) == 16 * kMiB; }, 30));
  nlohmann::json j = pool_state(tierd.socket);
  CHECK(j["hosts"].size() == 1);
  CHECK(j["this_host"]["manager"] == true);
  for (const auto &e : j["extents"]) CHECK(e["state"] == "accepted");

  // The fabric manager asks 8 MiB back. The pool's 16 MiB are all granted, so the manager
  // cannot refill the host from free media: two blocks move to DRAM first, then the extents
  // are released.
  const std::set<std::string> tags = ask_back(rig.pool_path, 8 * kMiB);
  REQUIRE(eventually([&] { return released(rig.pool_path, tags); }, 60));
  auto [dram, pool_bytes] = client_tiers(tierd.socket);
  INFO(tierd.log());
  CHECK(dram >= 4 * kMiB);
  CHECK(dram + pool_bytes == 12 * kMiB);
  j = pool_state(tierd.socket);
  CHECK(j["this_host"]["gave_back"].get<uint64_t>() >= 1);
  CHECK(j["this_host"]["declined"].get<uint64_t>() == 0);
  // Every byte of every block is what the client wrote.
  const int status = client_exit(c);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a tierd SIGKILLed mid-give-back is restarted, adopts its extents and finishes it",
          "[pool]") {
  PoolRig rig;
  Tierd tierd(rig.dir, rig.tierd_args());
  Client c(rig.dir, "c", tierd.socket, 6, 1, {}, "tier:1");
  REQUIRE(eventually([&] { return held(pool_state(tierd.socket)) == 16 * kMiB; }, 30));
  const std::set<std::string> tags = ask_back(rig.pool_path, 8 * kMiB);
  tierd.kill9();
  // The device kept the table: the extents are still host 0's, the give-back still pending.
  CHECK_FALSE(released(rig.pool_path, tags));
  tierd.start();
  REQUIRE(eventually([&] { return released(rig.pool_path, tags); }, 60));
  INFO(tierd.log());
  CHECK(tierd.log().find("pool: file " + rig.pool_path) != std::string::npos);
  const int status = client_exit(c);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("tierd refuses to start on a file that is not a pool, writing nothing to it", "[pool]") {
  PoolRig rig;
  const std::string junk(3 << 20, 'x');
  write_text(rig.pool_path, junk);
  const std::string log = rig.dir.file("tierd.log");
  std::vector<std::string> argv = {env_or_skip("TIERD_BIN"), "--socket", rig.dir.file("s.sock"),
                                   "--topology", env_or_skip("TIER_DAEMON_TOPOLOGY")};
  for (const std::string &a : rig.tierd_args()) argv.push_back(a);
  const int status = wait_exit(spawn(argv, {}, log), 30);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);
  CHECK(read_text(log).find(
            "tierd: pool: pool metadata unreadable, nothing written: " + rig.pool_path +
            " (metadata copy A): not a Tier pool (bad magic)") != std::string::npos);
  CHECK(read_text(rig.pool_path) == junk);
}
