// test_daemon_systemd.cpp - the sd_notify wrappers against a real AF_UNIX datagram socket
// set as NOTIFY_SOCKET (what systemd does), WATCHDOG_USEC/WATCHDOG_PID parsing, the watchdog
// timer, and tierd itself (TIERD_BIN) pinging that socket as systemd would see it.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

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
  // The next datagram from another process, waiting up to `ms`.
  std::optional<std::string> receive_within(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1) return std::nullopt;
    return receive();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string read_file(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

extern "C" char **environ;

// Starts `argv` with this process's environment less every systemd variable, plus `env`;
// stdout and stderr go to `log`.
pid_t spawn(const std::vector<std::string> &argv, const std::vector<std::string> &env,
            const std::string &log) {
  std::vector<std::string> envs;
  for (char **e = environ; *e; ++e) {
    const std::string v = *e;
    if (v.rfind("NOTIFY_SOCKET=", 0) != 0 && v.rfind("WATCHDOG_", 0) != 0) envs.push_back(v);
  }
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char *> a, en;
  for (const std::string &x : argv) a.push_back(const_cast<char *>(x.c_str()));
  a.push_back(nullptr);
  for (const std::string &x : envs) en.push_back(const_cast<char *>(x.c_str()));
  en.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, a[0], &fa, nullptr, a.data(), en.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

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

TEST_CASE("the watchdog timer expires every WATCHDOG_USEC / 2", "[daemon][systemd]") {
  ScopedEnv p("WATCHDOG_PID", std::nullopt);
  {
    ScopedEnv u("WATCHDOG_USEC", std::nullopt);
    uint64_t period = 7;
    tier::Result<int> fd = open_watchdog_timer(&period);
    REQUIRE(fd);
    CHECK(*fd == -1);
    CHECK(period == 7);  // untouched
  }
  {
    ScopedEnv u("WATCHDOG_USEC", "3000000");
    uint64_t period = 0;
    tier::Result<int> fd = open_watchdog_timer(&period);
    REQUIRE(fd);
    REQUIRE(*fd >= 0);
    CHECK(period == 1500000);
    itimerspec its{};
    REQUIRE(::timerfd_gettime(*fd, &its) == 0);
    CHECK(its.it_interval.tv_sec == 1);
    CHECK(its.it_interval.tv_nsec == 500000000L);
    CHECK((its.it_value.tv_sec > 0 || its.it_value.tv_nsec > 0));  // armed
    CHECK((::fcntl(*fd, F_GETFD) & FD_CLOEXEC) != 0);
    ::close(*fd);
  }
  {
    // Half of 1 us rounds to 0, which would disarm a timerfd: it stays armed at 1 us.
    ScopedEnv u("WATCHDOG_USEC", "1");
    uint64_t period = 0;
    tier::Result<int> fd = open_watchdog_timer(&period);
    REQUIRE(fd);
    REQUIRE(*fd >= 0);
    CHECK(period == 1);
    ::close(*fd);
  }
}

TEST_CASE("tierd pings the watchdog on its own timer, however long its epochs are",
          "[daemon][systemd]") {
  const char *tierd = std::getenv("TIERD_BIN");
  REQUIRE(tierd != nullptr);
  tier::test::TempDir dir;
  NotifySocket sock(dir.path() + "/notify");
  const std::string log = dir.path() + "/tierd.log";
  // WatchdogSec=1s with 5 s epochs: with pings only at the end of an epoch, systemd would kill
  // tierd before its first epoch ended.
  const pid_t pid =
      spawn({tierd, "--socket", dir.path() + "/tierd.sock", "--topology", "preset:default",
             "--epoch-ms", "5000"},
            {"NOTIFY_SOCKET=" + dir.path() + "/notify", "WATCHDOG_USEC=1000000"}, log);
  REQUIRE(pid > 0);
  struct Stop {
    pid_t pid;
    ~Stop() {
      ::kill(pid, SIGTERM);
      int status;
      ::waitpid(pid, &status, 0);
    }
  } stop{pid};

  const std::optional<std::string> first = sock.receive_within(30000);
  {
    INFO("tierd's log:\n" << read_file(log));
    REQUIRE(first == "READY=1");
  }
  // tierd's own STATUS= line may come between the pings; only their spacing matters. The
  // timer runs at 500 ms: 650 ms leaves room for a loaded machine's scheduling delay and is
  // still well inside the 1 s after which systemd would act.
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last = start;
  int pings = 0;
  double longest_gap_ms = 0;
  auto gap_ms = [&](Clock::time_point now) {
    return std::chrono::duration<double, std::milli>(now - last).count();
  };
  while (Clock::now() - start < std::chrono::milliseconds(3200)) {
    const std::optional<std::string> m = sock.receive_within(100);
    if (m != "WATCHDOG=1") continue;
    const auto now = Clock::now();
    longest_gap_ms = std::max(longest_gap_ms, gap_ms(now));
    last = now;
    ++pings;
  }
  longest_gap_ms = std::max(longest_gap_ms, gap_ms(Clock::now()));  // the silence at the end
  INFO("tierd's log:\n" << read_file(log));
  CHECK(pings >= 5);
  CHECK(longest_gap_ms <= 650);
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
