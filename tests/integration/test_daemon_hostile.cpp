// Hostile peers: each malformed or lying message is refused with a logged reason, and a
// well-behaved client next to them keeps being served with no refusal of its own; a peer that
// connects and says nothing is closed at the hello deadline.
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>

#include "daemon_harness.hpp"

using namespace tier::test;
namespace dp = tier::daemon_proto;

namespace {

// Waits until tierd's log holds `text` (the refusal's reason).
bool logged(const Tierd &t, const std::string &text) {
  return eventually([&] { return t.log().find(text) != std::string::npos; }, 20);
}

}  // namespace

TEST_CASE("hostile messages are refused and affect no other client", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir);
  Client good(dir, "good", tierd.socket, 8, 2);
  INFO("client log: " << read_text(good.log_path) << "\ntierd log: " << tierd.log());
  REQUIRE(eventually([&] { return good.converged(0); }, 40));

  SECTION("truncated message") {
    RawClient r(tierd.socket);
    const char bytes[5] = {1, 2, 3, 4, 5};
    r.send_raw(bytes, sizeof bytes);
    CHECK(logged(tierd, "shorter than a header"));
  }
  SECTION("oversized message") {
    RawClient r(tierd.socket);
    std::vector<char> big(64 * 1024, 'x');
    r.send_raw(big.data(), big.size());
    CHECK(logged(tierd, "message longer than"));
  }
  SECTION("length field that lies") {
    RawClient r(tierd.socket);
    auto m = dp::make_message<dp::HelloMsg>(dp::MsgType::kHello);
    m.h.length = 12345;
    r.send_raw(&m, sizeof m);
    CHECK(logged(tierd, "length field 12345"));
  }
  SECTION("wrong protocol version") {
    RawClient r(tierd.socket);
    RawClient::Hello h;
    h.version = 99;
    CHECK(r.hello(h) == static_cast<int>(dp::MsgType::kError));
    CHECK(logged(tierd, "protocol version 99 is not supported"));
  }
  SECTION("a claimed pid that is not the sender's") {
    RawClient r(tierd.socket);
    RawClient::Hello h;
    h.pid = good.pid;  // pretends to be the good client, to steer its memory
    CHECK(r.hello(h) == static_cast<int>(dp::MsgType::kError));
    CHECK(logged(tierd, "hello claims pid " + std::to_string(good.pid)));
  }
  SECTION("oversized capacity in the hello") {
    RawClient r(tierd.socket);
    RawClient::Hello h;
    h.capacity = dp::kMaxCapacity + 1;
    CHECK(r.hello(h) == static_cast<int>(dp::MsgType::kError));
    CHECK(logged(tierd, "hello: capacity"));
  }
  SECTION("a table that can shrink under tierd") {
    RawClient r(tierd.socket);
    RawClient::Hello h;
    h.seal = false;
    CHECK(r.hello(h) == static_cast<int>(dp::MsgType::kError));
    CHECK(logged(tierd, "not sealed against shrink and grow"));
  }
  SECTION("a hello without its table") {
    RawClient r(tierd.socket);
    RawClient::Hello h;
    h.attach_memfd = false;
    CHECK(r.hello(h) == static_cast<int>(dp::MsgType::kError));
    CHECK(logged(tierd, "no table memfd attached"));
  }
  SECTION("a table count beyond its capacity") {
    RawClient r(tierd.socket);
    REQUIRE(r.hello({}) == static_cast<int>(dp::MsgType::kHelloOk));
    r.region_add(1, 1ull << 30, 4ull << 20, 1);
    r.publish({}, r.capacity + 1000, 1);
    CHECK(logged(tierd, "exceeds its capacity"));
  }
  SECTION("chunks outside the sender's regions") {
    RawClient r(tierd.socket);
    REQUIRE(r.hello({}) == static_cast<int>(dp::MsgType::kHelloOk));
    r.region_add(1, 1ull << 30, 4ull << 20, 1);
    dp::ShmChunk inside{1ull << 30, 0, 2u << 20, 0, 0, 0};
    dp::ShmChunk outside{(1ull << 30) + (64ull << 20), 0, 2u << 20, 0, 0, 0};
    r.publish({inside, outside}, 2, 1);
    CHECK(logged(tierd, "is outside the client's registered regions"));
  }
  SECTION("overlapping and wrapping regions") {
    RawClient r(tierd.socket);
    REQUIRE(r.hello({}) == static_cast<int>(dp::MsgType::kHelloOk));
    r.region_add(1, 1ull << 30, 4ull << 20, 1);
    r.region_add(2, (1ull << 30) + (2ull << 20), 4ull << 20, 2);
    CHECK(logged(tierd, "region overlaps"));
    r.region_add(3, ~0ull - 10, 100, 3);
    CHECK(logged(tierd, "leaves the user address space"));
  }
  SECTION("admin actions from a user who is not an admin") {
    const pid_t child = ::fork();
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      dp::CtlMsg m{};
      std::strcpy(m.name, "lru");
      std::vector<char> r = control(tierd.socket, dp::MsgType::kCtlPolicySet, m);
      dp::MsgHeader h{};
      if (r.size() >= sizeof h) std::memcpy(&h, r.data(), sizeof h);
      ::_exit(h.type == static_cast<uint16_t>(dp::MsgType::kError) ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(logged(tierd, "policy-set needs root"));
  }

  // Whatever the hostile peer did, the good client is still served and was never refused.
  CHECK(tier::test::alive(tierd.pid));
  write_text(good.phase_file, "1\n");
  CHECK(eventually([&] { return good.converged(1); }, 40));
  bool found = false;
  for (const dp::ClientStatus &c : clients(tierd.socket))
    if (c.pid == good.pid) {
      found = true;
      CHECK(c.refusals == 0);
    }
  CHECK(found);
}

TEST_CASE("a connection that says nothing is closed at the hello deadline", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir, {"--hello-timeout-ms", "500"});
  RawClient client(tierd.socket);
  REQUIRE(client.hello({}) == static_cast<int>(dp::MsgType::kHelloOk));
  const auto start = std::chrono::steady_clock::now();
  RawClient silent(tierd.socket);
  REQUIRE(silent.connected());
  // tierd closes it: end of stream, not before the deadline and well within 10 s of it.
  pollfd p{silent.fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10000) == 1);
  char byte;
  CHECK(::recv(silent.fd, &byte, 1, MSG_DONTWAIT) == 0);
  const double waited_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CHECK(waited_ms >= 450);  // accepted after connect, so closed no sooner than 500 ms later
  CHECK(logged(tierd, "closed 1 connection that sent no hello or request within 500 ms"));
  // The client that said hello is kept past the deadline, and still served.
  ::usleep(1000 * 1000);
  CHECK(client_count(tierd.socket) == 1);
  const auto list = clients(tierd.socket);
  REQUIRE(list.size() == 1);
  CHECK(list[0].pid == ::getpid());
}
