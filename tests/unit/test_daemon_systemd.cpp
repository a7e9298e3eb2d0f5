// test_daemon_systemd.cpp - the sd_notify wrappers against a real AF_UNIX datagram socket
// set as NOTIFY_SOCKET (what systemd does), and WATCHDOG_USEC/WATCHDOG_PID parsing.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include "journal.hpp"
#include "systemd_notify.hpp"
#include "test_daemon_util.hpp"

using namespace tier::daemon;

namespace {

// Sets or unsets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char *name, std::optional<std::string> value) : name_(name) {
    if (const char *old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

 private:
  const char *name_;
  std::optional<std::string> old_;
};

// A bound datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string &path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof sa.sun_path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket &) = delete;
  NotifySocket &operator=(const NotifySocket &) = delete;

  // The next datagram; sd_notify has returned, so it is queued already (no waiting).
  std::optional<std::string> receive() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("notifications reach NOTIFY_SOCKET as systemd expects them", "[daemon][systemd]") {
  tier::test::TempDir dir;
  std::string path = dir.path() + "/notify";
  NotifySocket sock(path);
  ScopedEnv env("NOTIFY_SOCKET", path);

  notify_ready();
  CHECK(sock.receive() == "READY=1");
  notify_status("epoch 12, 3 clients");
  CHECK(sock.receive() == "STATUS=epoch 12, 3 clients");
  notify_status("two\nlines\r");
  CHECK(sock.receive() == "STATUS=two lines ");
  notify_watchdog();
  CHECK(sock.receive() == "WATCHDOG=1");
  notify_stopping();
  CHECK(sock.receive() == "STOPPING=1");

  notify_reloading();
  std::optional<std::string> reloading = sock.receive();
  REQUIRE(reloading);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  REQUIRE(reloading->rfind(prefix, 0) == 0);
  std::string usec = reloading->substr(prefix.size());
  CHECK_FALSE(usec.empty());
  CHECK(usec.find_first_not_of("0123456789") == std::string::npos);

  CHECK_FALSE(sock.receive().has_value());  // nothing else was sent
}

TEST_CASE("without NOTIFY_SOCKET every call is a no-op", "[daemon][systemd]") {
  tier::test::TempDir dir;
  std::string path = dir.path() + "/notify";
  NotifySocket sock(path);
  ScopedEnv env("NOTIFY_SOCKET", std::nullopt);
  notify_ready();
  notify_reloading();
  notify_status("x");
  notify_watchdog();
  notify_stopping();
  CHECK_FALSE(sock.receive().has_value());
}

TEST_CASE("a vanished NOTIFY_SOCKET is not an error for the daemon", "[daemon][systemd]") {
  tier::test::TempDir dir;
  const std::string path = dir.path() + "/notify";
  ScopedEnv env("NOTIFY_SOCKET", path);
  // No socket at the path (ENOENT), then a socket file nobody reads any more (ECONNREFUSED:
  // systemd gone). Each call must return without raising SIGPIPE or aborting, which would end
  // this test.
  notify_ready();
  notify_watchdog();
  { NotifySocket gone(path); }
  notify_ready();
  notify_watchdog();
  // The failures left nothing behind: a socket bound at the path again (systemd re-executed)
  // hears the next notification, and only that one.
  REQUIRE(::unlink(path.c_str()) == 0);
  NotifySocket back(path);
  notify_watchdog();
  CHECK(back.receive() == "WATCHDOG=1");
  CHECK_FALSE(back.receive().has_value());
}

TEST_CASE("watchdog_interval reads WATCHDOG_USEC for this process only", "[daemon][systemd]") {
  uint64_t usec = 0;
  {
    ScopedEnv u("WATCHDOG_USEC", std::nullopt);
    ScopedEnv p("WATCHDOG_PID", std::nullopt);
    CHECK_FALSE(watchdog_interval(&usec));
  }
  {
    ScopedEnv u("WATCHDOG_USEC", "30000000");
    ScopedEnv p("WATCHDOG_PID", std::nullopt);
    REQUIRE(watchdog_interval(&usec));
    CHECK(usec == 30000000);
    CHECK(watchdog_interval(nullptr));
  }
  {
    ScopedEnv u("WATCHDOG_USEC", "15000000");
    ScopedEnv p("WATCHDOG_PID", std::to_string(::getpid()));
    REQUIRE(watchdog_interval(&usec));
    CHECK(usec == 15000000);
  }
  {
    // Meant for another process (e.g. inherited from a parent): not ours to answer.
    ScopedEnv u("WATCHDOG_USEC", "15000000");
    ScopedEnv p("WATCHDOG_PID", std::to_string(::getpid() + 1));
    CHECK_FALSE(watchdog_interval(&usec));
  }
  {
    ScopedEnv u("WATCHDOG_USEC", "soon");
    ScopedEnv p("WATCHDOG_PID", std::nullopt);
    CHECK_FALSE(watchdog_interval(&usec));
  }
}

TEST_CASE("journal lines carry the sd-daemon priority prefix on every line", "[daemon][systemd]") {
  CHECK(log_priority("error") == 3);
  CHECK(log_priority("warning") == 4);
  CHECK(log_priority("info") == 6);
  CHECK(log_priority("debug") == 7);
  CHECK(log_priority("verbose") == -1);
  CHECK(journal_line("info", "epoch_ms: 100 -> 50") == "<6>epoch_ms: 100 -> 50\n");
  CHECK(journal_line("error", "reload refused:\nt.toml:1:1: x\n") ==
        "<3>reload refused:\n<3>t.toml:1:1: x\n");
  CHECK(journal_line("nonsense", "m") == "<3>m\n");
  CHECK(journal_line("debug", "") == "<7>\n");
}

TEST_CASE("log_enabled filters by the configured level", "[daemon][systemd]") {
  CHECK(log_enabled("info", "error"));
  CHECK(log_enabled("info", "warning"));
  CHECK(log_enabled("info", "info"));
  CHECK_FALSE(log_enabled("info", "debug"));
  CHECK(log_enabled("debug", "debug"));
  CHECK(log_enabled("error", "error"));
  CHECK_FALSE(log_enabled("error", "warning"));
  CHECK_FALSE(log_enabled("typo", "error"));
  CHECK_FALSE(log_enabled("info", "typo"));
}
