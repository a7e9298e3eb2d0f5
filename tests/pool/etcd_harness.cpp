// etcd_harness.cpp - see etcd_harness.hpp.
#include "etcd_harness.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "coord/etcd_store.hpp"

extern char **environ;

namespace tier::test {

namespace {

// A port the kernel considers free now (bound and released; etcd binds it right after).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

bool executable(const std::string &p) {
  return !p.empty() && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

std::string EtcdProcess::binary() {
  if (const char *e = std::getenv("TIER_ETCD_BIN"); e && *e) return executable(e) ? e : "";
  return executable("/usr/bin/etcd") ? "/usr/bin/etcd" : "";
}

void require_etcd_or_skip() {
  if (!EtcdProcess::binary().empty()) return;
  const char *strict = std::getenv("TIER_FAIL_ON_SKIP");
  std::fprintf(stderr, "no etcd: install etcd-server (/usr/bin/etcd) or set TIER_ETCD_BIN%s\n",
               strict && std::string(strict) == "1" ? "; failing: TIER_FAIL_ON_SKIP=1" : "");
  std::exit(strict && std::string(strict) == "1" ? 1 : 77);
}

EtcdProcess::EtcdProcess() {
  char tmpl[] = "/tmp/tier-etcd-XXXXXX";
  if (::mkdtemp(tmpl)) dir_ = tmpl;
  data_dir_ = dir_ + "/data";
  log_ = dir_ + "/etcd.log";
  client_port_ = free_port();
  do peer_port_ = free_port();
  while (peer_port_ == client_port_);
}

EtcdProcess::~EtcdProcess() {
  stop(false);
  if (dir_.empty()) return;
  const std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir_.c_str());
}

std::string EtcdProcess::client_url() const {
  return "http://127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdProcess::log_tail() const {
  std::ifstream in(log_);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > 8 ? lines.size() - 8 : 0; i < lines.size(); ++i)
    out += "\n  " + lines[i];
  return out;
}

Status EtcdProcess::start(std::chrono::milliseconds ready_timeout) {
  if (dir_.empty()) return make_error(TIER_EOS, "etcd harness: mkdtemp failed");
  if (pid_ > 0) return {};
  const std::string bin = binary();
  if (bin.empty()) return make_error(TIER_ENOSYS, "etcd harness: no etcd binary");
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  const std::vector<std::string> args = {bin,
                                         "--name=tier-test",
                                         "--data-dir=" + data_dir_,
                                         "--listen-client-urls=" + client_url(),
                                         "--advertise-client-urls=" + client_url(),
                                         "--listen-peer-urls=" + peer,
                                         "--initial-advertise-peer-urls=" + peer,
                                         "--initial-cluster=tier-test=" + peer,
                                         "--initial-cluster-state=new",
                                         "--heartbeat-interval=10",
                                         "--election-timeout=100",
                                         "--logger=zap",
                                         "--log-level=warn"};
  // The environment without ETCD_* variables: etcd reads its flags from them too.
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e)
    if (std::strncmp(*e, "ETCD_", 5) != 0) env.emplace_back(*e);
  std::vector<char *> argv, envp;
  for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string &e : env) envp.push_back(const_cast<char *>(e.c_str()));
  envp.push_back(nullptr);
  const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return os_error("etcd harness: open " + log_);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return os_error("etcd harness: fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  auto store = coord::EtcdStore::open(
      {{client_url()}, std::chrono::milliseconds(500), std::chrono::milliseconds(200)});
  if (!store) return std::move(store).error();
  const auto until = std::chrono::steady_clock::now() + ready_timeout;
  std::string last = "not tried";
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return make_error(TIER_EOS, "etcd exited during start-up (status " + std::to_string(status) +
                                      "); log " + log_ + ":" + log_tail());
    }
    auto r = (*store)->get("/tier-test-health", false);
    if (r) return {};
    last = r.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop(false);
  return make_error(TIER_EBUSY, "etcd not ready within " + std::to_string(ready_timeout.count()) +
                                    " ms (" + last + "); log " + log_ + ":" + log_tail());
}

void EtcdProcess::stop(bool graceful) {
  if (pid_ <= 0) return;
  ::kill(pid_, graceful ? SIGTERM : SIGKILL);
  // A graceful stop gets 5 s before it becomes a kill.
  for (int i = 0; graceful && i < 500; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace tier::test
