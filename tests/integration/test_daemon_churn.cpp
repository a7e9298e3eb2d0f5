// 200 clients connecting and leaving in a loop: some close, some exit without a word (tierd
// notices through their pidfd); tierd ends with no client, and the descriptors and table
// mappings it had before.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>

#include "daemon_harness.hpp"

using namespace tier::test;
namespace dp = tier::daemon_proto;

TEST_CASE("200 clients connect and leave", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir);
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 0; }, 30));
  const int fds = settled_fds(tierd.pid);
  int connected = 0;
  for (int round = 0; round < 10; ++round) {
    // 10 in this process, held open together...
    std::vector<std::unique_ptr<RawClient>> batch;
    for (int i = 0; i < 10; ++i) {
      batch.push_back(std::make_unique<RawClient>(tierd.socket));
      if (batch.back()->hello({}) == static_cast<int>(dp::MsgType::kHelloOk)) ++connected;
      batch.back()->region_add(1, 1ull << 30, 4ull << 20, 1);
    }
    // ...and 10 child processes that connect and exit without closing anything.
    std::vector<pid_t> kids;
    for (int i = 0; i < 10; ++i) {
      const pid_t k = ::fork();
      if (k == 0) {
        RawClient r(tierd.socket);
        ::_exit(r.hello({}) == static_cast<int>(dp::MsgType::kHelloOk) ? 0 : 1);
      }
      kids.push_back(k);
    }
    for (pid_t k : kids) {
      int status = 0;
      ::waitpid(k, &status, 0);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++connected;
    }
    batch.clear();  // the in-process ones close
  }
  CHECK(connected == 200);
  CHECK(eventually([&] { return client_count(tierd.socket) == 0; }, 30));
  // Exactly the descriptors it had before (the baseline was taken once settled: see
  // settled_fds()); a leak would be one descriptor per client.
  CHECK(eventually([&] { return count_fds(tierd.pid) == fds; }, 30));
  const std::string maps_after = read_text("/proc/" + std::to_string(tierd.pid) + "/maps");
  CHECK(maps_after.find("raw-client") == std::string::npos);
  CHECK(tierd.log().find("error") == std::string::npos);
}
