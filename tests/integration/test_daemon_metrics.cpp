// tierd's Prometheus endpoint as a scraper sees it: GET /metrics over plain TCP from a real
// tierd with real clients (status, content type, client gauge, growing epoch counter, a
// capacity series per node), bound to loopback only; a port already in use fails start-up
// with a message naming the address; SIGHUP moves or stops the endpoint, and a reload that
// cannot bind keeps the old one serving.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>

#include "daemon_harness.hpp"

using namespace tier::test;

namespace {

struct Http {
  int status = 0;  // 0: no answer
  std::string head, body;
  std::string header(const std::string &name) const {
    const size_t at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const size_t from = at + name.size() + 4;
    return head.substr(from, head.find("\r\n", from) - from);
  }
};

// connect() to addr:port; the socket, or -1 with errno set.
int connect_to(in_addr addr, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr = addr;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

in_addr loopback() {
  in_addr a{};
  a.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// One HTTP/1.1 request with Connection: close; the response read to EOF.
Http get(uint16_t port, const std::string &path = "/metrics") {
  Http r;
  const int fd = connect_to(loopback(), port);
  if (fd < 0) return r;
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    all.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos || all.rfind("HTTP/1.", 0) != 0) return r;
  r.head = all.substr(0, end + 2);
  r.body = all.substr(end + 4);
  r.status = std::atoi(all.c_str() + all.find(' ') + 1);
  return r;
}

// The value of the series written exactly as `series` (name and labels), or -1 when absent.
double value(const std::string &text, const std::string &series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0)
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  return -1;
}

// The port from tierd's "metrics on 127.0.0.1:PORT" line (the last one), 0 if none yet.
uint16_t logged_port(const Tierd &tierd) {
  const std::string log = tierd.log();
  const std::string key = "metrics on 127.0.0.1:";
  const size_t at = log.rfind(key);
  return at == std::string::npos ? 0
                                 : static_cast<uint16_t>(std::atoi(log.c_str() + at + key.size()));
}

// A listening TCP socket on 127.0.0.1 at a free port (the "port in use").
int listener(uint16_t *port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = loopback();
  socklen_t len = sizeof sa;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) == 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

// Local addresses of listening TCP sockets on `port`, from /proc/PID/net/tcp{,6} (tierd's own
// network namespace), as the kernel prints them ("0100007F" is 127.0.0.1).
std::vector<std::string> listening_on(pid_t pid, uint16_t port) {
  std::vector<std::string> out;
  char want[8];
  std::snprintf(want, sizeof want, "%04X", port);
  for (const char *file : {"tcp", "tcp6"}) {
    std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/net/" + file));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state;
      f >> sl >> local >> remote >> state;
      const size_t colon = local.rfind(':');
      if (state == "0A" && local.substr(colon + 1) == want) out.push_back(local.substr(0, colon));
    }
  }
  return out;
}

// An IPv4 address of this host other than loopback, if it has one.
bool other_address(in_addr *out) {
  ifaddrs *list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs *i = list; i && !found; i = i->ifa_next)
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
      const in_addr a = reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr;
      if ((ntohl(a.s_addr) >> 24) != 127) {
        *out = a;
        found = true;
      }
    }
  ::freeifaddrs(list);
  return found;
}

}  // namespace

TEST_CASE("tierd serves /metrics on loopback with clients, epochs and nodes", "[daemon]") {
  TempDir dir;
  Tierd tierd(dir, {"--metrics=127.0.0.1:0"});
  REQUIRE(eventually([&] { return logged_port(tierd) != 0; }, 30));
  const uint16_t port = logged_port(tierd);
  Client a(dir, "a", tierd.socket, 8, 2), b(dir, "b", tierd.socket, 8, 2);
  REQUIRE(eventually([&] { return client_count(tierd.socket) == 2; }, 30));
  REQUIRE(eventually([&] { return a.converged(0) && b.converged(0); }, 40));

  const Http first = get(port);
  REQUIRE(first.status == 200);
  CHECK(first.header("Content-Type").rfind("text/plain", 0) == 0);
  CHECK(value(first.body, "tier_clients") == 2);
  // daemon-two-tier.toml: dram0 (node 0, 512 MiB, the slow tier) and hbm0 (node 1, 40 MiB).
  CHECK(value(first.body, "tier_node_capacity_bytes{kind=\"dram\",node=\"0\",tier=\"1\"}") ==
        512.0 * 1024 * 1024);
  CHECK(value(first.body, "tier_node_capacity_bytes{kind=\"hbm\",node=\"1\",tier=\"0\"}") ==
        40.0 * 1024 * 1024);
  // Both clients' hot blocks (2 x 2 MiB each) reach the fast node by tierd's promotions;
  // figures are published after each epoch and a client's results are read the epoch after
  // it applied them, so they may trail the clients' own view by an epoch or two.
  CHECK(eventually(
      [&] {
        const std::string t = get(port).body;
        return value(t, "tier_node_used_bytes{kind=\"hbm\",node=\"1\",tier=\"0\"}") >=
                   2 * 2 * 2.0 * 1024 * 1024 &&
               value(t, "tier_migrated_bytes_total{reason=\"promote\"}") >=
                   2 * 2 * 2.0 * 1024 * 1024;
      },
      20));
  CHECK(value(first.body, "tier_build_info{version=\"0.1.0\"}") == 1);
  const double epochs = value(first.body, "tier_epochs_total");
  CHECK(epochs > 0);
  CHECK(eventually([&] { return value(get(port).body, "tier_epochs_total") > epochs; }, 20));

  // A client leaving is seen at once (not only after the next epoch).
  ::kill(b.pid, SIGTERM);
  wait_exit(b.pid, 30);
  b.pid = -1;
  CHECK(eventually([&] { return value(get(port).body, "tier_clients") == 1; }, 30));
  CHECK(get(port, "/other").status == 404);

  // Loopback only: the one listening socket on the port is 127.0.0.1's, and another address
  // of this host refuses the connection.
  CHECK(listening_on(tierd.pid, port) == std::vector<std::string>{"0100007F"});
  in_addr other;
  if (other_address(&other)) {
    CHECK(connect_to(other, port) == -1);
    CHECK(errno == ECONNREFUSED);
  }
}

TEST_CASE("a metrics port already in use fails start-up, naming the address", "[daemon]") {
  TempDir dir;
  uint16_t port = 0;
  const int busy = listener(&port);
  const std::string log = dir.file("tierd.log"), socket = dir.file("tierd.sock");
  const pid_t pid =
      spawn({env_or_skip("TIERD_BIN"), "--socket", socket, "--topology",
             env_or_skip("TIER_DAEMON_TOPOLOGY"), "--metrics=127.0.0.1:" + std::to_string(port)},
            {}, log);
  const int status = wait_exit(pid, 30);
  ::close(busy);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(read_text(log) == "tierd: metrics: cannot listen on 127.0.0.1:" + std::to_string(port) +
                              ": Address already in use\n");
  CHECK(::access(socket.c_str(), F_OK) != 0);  // nothing left behind for clients to find
}

TEST_CASE("SIGHUP applies a changed [metrics] section, keeping the old one if it cannot bind",
          "[daemon]") {
  TempDir dir;
  const std::string config = dir.file("tierd.toml");
  write_text(config, "[metrics]\nenabled = true\nport = 0\n");
  Tierd tierd(dir, {"--config", config});
  REQUIRE(eventually([&] { return logged_port(tierd) != 0; }, 30));
  const uint16_t first = logged_port(tierd);
  REQUIRE(get(first).status == 200);

  // A port in use: refused with the reason logged, and the running endpoint stays.
  uint16_t busy_port = 0;
  const int busy = listener(&busy_port);
  write_text(config, "[metrics]\nenabled = true\nport = " + std::to_string(busy_port) + "\n");
  ::kill(tierd.pid, SIGHUP);
  CHECK(eventually([&] { return tierd.log().find("Address already in use") != std::string::npos; },
                   20));
  ::close(busy);
  CHECK(eventually([&] { return get(logged_port(tierd)).status == 200; }, 20));

  // Off: the endpoint goes away.
  write_text(config, "[metrics]\nenabled = false\n");
  const uint16_t serving = logged_port(tierd);
  ::kill(tierd.pid, SIGHUP);
  CHECK(
      eventually([&] { return tierd.log().find("SIGHUP: metrics off") != std::string::npos; }, 20));
  CHECK(get(serving).status == 0);

  // On again: a new endpoint, and the reloads were counted.
  write_text(config, "[metrics]\nenabled = true\nport = 0\n");
  const size_t lines = tierd.log().size();
  ::kill(tierd.pid, SIGHUP);
  REQUIRE(
      eventually([&] { return tierd.log().find("metrics on", lines) != std::string::npos; }, 20));
  const Http r = get(logged_port(tierd));
  REQUIRE(r.status == 200);
  CHECK(value(r.body, "tier_config_reloads_total{result=\"applied\"}") == 3);
}
