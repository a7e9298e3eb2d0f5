// daemon_harness.cpp - see daemon_harness.hpp.
#include "daemon_harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char **environ;

namespace tier::test {

namespace dp = tier::daemon_proto;

std::string env_or_skip(const char *name) {
  const char *v = std::getenv(name);
  if (!v || !*v) {
    std::fprintf(stderr, "%s is not set: run through ctest\n", name);
    std::exit(77);
  }
  return v;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/tierd-test-XXXXXX";
  path = ::mkdtemp(tmpl);
  ::chmod(path.c_str(), 0755);  // a test client may drop privileges and still connect
}

TempDir::~TempDir() {
  const std::string cmd = "rm -rf '" + path + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path.c_str());
}

pid_t spawn(const std::vector<std::string> &argv, const std::vector<std::string> &env,
            const std::string &log) {
  std::vector<std::string> envs;
  for (char **e = environ; *e; ++e) envs.emplace_back(*e);
  for (const std::string &e : env) envs.push_back(e);
  std::vector<char *> a, en;
  for (const std::string &s : argv) a.push_back(const_cast<char *>(s.c_str()));
  a.push_back(nullptr);
  for (const std::string &s : envs) en.push_back(const_cast<char *>(s.c_str()));
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

int wait_exit(pid_t pid, double seconds) {
  int status = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

bool eventually(const std::function<bool()> &pred, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string read_text(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_text(const std::string &path, const std::string &text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

int count_fds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR *d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent *e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

double cpu_seconds(pid_t pid) {
  // Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name
  // (which may itself hold spaces and parentheses).
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const size_t end = stat.rfind(')');
  if (end == std::string::npos) return -1;
  std::istringstream in(stat.substr(end + 2));
  std::string field;
  for (int i = 3; i < 14; ++i) in >> field;  // state (3) .. cmajflt (13)
  long utime = -1, stime = -1;
  in >> utime >> stime;
  if (!in) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int settled_fds(pid_t pid) {
  int last = count_fds(pid), same = 0;
  for (int i = 0; i < 200 && same < 3; ++i) {
    ::usleep(100 * 1000);
    const int now = count_fds(pid);
    same = now == last ? same + 1 : 0;
    last = now;
  }
  return last;
}

Tierd::Tierd(const TempDir &dir, std::vector<std::string> more, std::vector<std::string> before)
    : socket(dir.file("tierd.sock")),
      log_path(dir.file("tierd.log")),
      extra(std::move(more)),
      launcher(std::move(before)) {
  start();
}

void Tierd::start() {
  std::vector<std::string> argv = {env_or_skip("TIERD_BIN"), "--socket", socket, "--topology",
                                   env_or_skip("TIER_DAEMON_TOPOLOGY")};
  // 50 ms epochs unless the caller chose (tierd refuses a flag given twice).
  if (std::find(extra.begin(), extra.end(), "--epoch-ms") == extra.end())
    argv.insert(argv.end(), {"--epoch-ms", "50"});
  for (const std::string &e : extra) argv.push_back(e);
  argv.insert(argv.begin(), launcher.begin(), launcher.end());
  pid = spawn(argv, {}, log_path);
  eventually([&] { return client_count(socket) >= 0; }, 30);
}

void Tierd::kill9() {
  ::kill(pid, SIGKILL);
  wait_exit(pid, 30);
  pid = -1;
}

// A process that exited before the test ended it (a crash, a sanitizer report) is said so,
// with its log: otherwise the test only sees a client that "never converged".
static void report_early_exit(const char *what, pid_t pid, const std::string &log_path) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return;
  std::fprintf(stderr, "%s (pid %d) exited early, status 0x%x; its log:\n%s\n", what,
               static_cast<int>(pid), status, read_text(log_path).c_str());
}

Tierd::~Tierd() {
  if (pid > 0) {
    report_early_exit("tierd", pid, log_path);
    ::kill(pid, SIGTERM);
    wait_exit(pid, 30);
  }
}

Client::Client(const TempDir &dir, const std::string &name, const std::string &socket, int chunks,
               int hot, std::vector<std::string> env, const std::string &slow, bool agent)
    : phase_file(dir.file(name + ".phase")),
      status_file(dir.file(name + ".status")),
      log_path(dir.file(name + ".log")) {
  write_text(phase_file, "0\n");
  env.push_back("TIER_DAEMON_SOCKET=" + socket);
  env.push_back("TIER_TOPOLOGY=" + env_or_skip("TIER_DAEMON_TOPOLOGY"));
  pid = spawn({env_or_skip("TIER_DAEMON_CLIENT_BIN"), "--chunks", std::to_string(chunks), "--hot",
               std::to_string(hot), "--phase-file", phase_file, "--status", status_file, "--slow",
               slow, "--agent", agent ? "1" : "0"},
              env, log_path);
}

Client::~Client() {
  if (pid > 0) report_early_exit("client", pid, log_path);
  if (pid > 0 && alive(pid)) {
    ::kill(pid, SIGTERM);
    wait_exit(pid, 30);
  }
}

bool Client::converged(int phase) const {
  std::istringstream in(read_text(status_file));
  int p = -1, on_fast = -1, hot = -2;
  in >> p >> on_fast >> hot;
  return p == phase && on_fast == hot;
}

uint64_t Client::fast_mask() const {
  std::istringstream in(read_text(status_file));
  uint64_t p, f, h, r, mask = 0;
  in >> p >> f >> h >> r >> mask;
  return mask;
}

std::vector<uint64_t> Client::blocks() const {
  std::istringstream in(read_text(status_file + ".blocks"));
  std::vector<uint64_t> out;
  std::string line;
  while (in >> line) out.push_back(std::stoull(line, nullptr, 16));
  return out;
}

std::vector<char> control(const std::string &socket, dp::MsgType type, const dp::CtlMsg &extra) {
  Result<int> fd = dp::connect_socket(socket);
  if (!fd) return {};
  dp::CtlMsg m = extra;
  m.h = dp::make_message<dp::CtlMsg>(type).h;
  std::vector<char> buf(dp::kMaxMessage);
  std::vector<char> out;
  if (dp::send_message(*fd, &m, sizeof m)) {
    pollfd p{*fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) == 1)
      if (Result<size_t> n = dp::recv_message(*fd, buf.data(), buf.size()); n)
        out.assign(buf.begin(), buf.begin() + static_cast<long>(*n));
  }
  ::close(*fd);
  return out;
}

std::vector<dp::ClientStatus> clients(const std::string &socket) {
  std::vector<char> r = control(socket, dp::MsgType::kCtlClients);
  std::vector<dp::ClientStatus> out;
  Result<dp::MsgType> t = dp::check_message(r.data(), r.size());
  if (!t || *t != dp::MsgType::kClientsReply) return out;
  uint32_t count;
  std::memcpy(&count, r.data() + offsetof(dp::ClientsReply, count), sizeof count);
  out.resize(count);
  if (count)  // out.data() is null when empty: memcpy from/to null is undefined (UBSan)
    std::memcpy(out.data(), r.data() + offsetof(dp::ClientsReply, clients),
                count * sizeof(dp::ClientStatus));
  return out;
}

int client_count(const std::string &socket) {
  std::vector<char> r = control(socket, dp::MsgType::kCtlClients);
  Result<dp::MsgType> t = dp::check_message(r.data(), r.size());
  if (!t || *t != dp::MsgType::kClientsReply) return -1;
  uint32_t total;
  std::memcpy(&total, r.data() + offsetof(dp::ClientsReply, total), sizeof total);
  return static_cast<int>(total);
}

}  // namespace tier::test

namespace tier::test {

RawClient::RawClient(const std::string &socket) {
  Result<int> r = dp::connect_socket(socket);
  if (r) fd = *r;
}

RawClient::~RawClient() {
  if (fd >= 0) ::close(fd);
  if (shm) ::munmap(shm, shm_len);
}

int RawClient::hello(const Hello &h) {
  auto m = dp::make_message<dp::HelloMsg>(dp::MsgType::kHello);
  m.h.version = h.version;
  m.pid = h.pid ? h.pid : ::getpid();
  m.chunk_shift = 21;
  m.capacity = h.capacity;
  m.max_requests = 16;
  m.emulated = 1;
  m.nnodes = 2;
  m.nodes[0] = 0;
  m.nodes[1] = 1;
  int mfd = -1;
  if (h.attach_memfd) {
    mfd = ::memfd_create("raw-client", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    capacity = h.capacity;
    shm_len = dp::shm_bytes(h.capacity <= dp::kMaxCapacity ? h.capacity : 1, 16);
    if (::ftruncate(mfd, static_cast<off_t>(shm_len)) != 0) return 0;
    shm = ::mmap(nullptr, shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    auto *hd = static_cast<dp::ShmHeader *>(shm);
    hd->magic = dp::kShmMagic;
    hd->version = dp::kVersion;
    hd->capacity = h.capacity;
    hd->max_requests = 16;
    hd->chunk_shift = 21;
    if (h.seal) ::fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
  }
  const bool sent = static_cast<bool>(dp::send_message(fd, &m, sizeof m, mfd));
  if (mfd >= 0) ::close(mfd);
  if (!sent) return 0;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return 0;
  char buf[512];
  Result<size_t> n = dp::recv_message(fd, buf, sizeof buf);
  if (!n) return 0;
  dp::MsgHeader hd;
  std::memcpy(&hd, buf, sizeof hd);
  return hd.type;
}

void RawClient::region_add(uint32_t id, uint64_t base, uint64_t length, uint64_t generation) {
  auto m = dp::make_message<dp::RegionMsg>(dp::MsgType::kRegionAdd);
  m.region_id = id;
  m.base = base;
  m.length = length;
  m.generation = generation;
  (void)dp::send_message(fd, &m, sizeof m);
}

void RawClient::publish(const std::vector<dp::ShmChunk> &entries, uint32_t count,
                        uint64_t region_generation) {
  auto *h = static_cast<dp::ShmHeader *>(shm);
  const uint32_t seq = h->seq.load();
  h->seq.store(seq + 1);
  if (!entries.empty())  // memcpy from an empty vector's null data() is undefined
    std::memcpy(dp::shm_chunks(shm, 16), entries.data(),
                std::min<size_t>(entries.size(), capacity) * sizeof(dp::ShmChunk));
  h->count.store(count);
  h->region_generation.store(region_generation);
  h->seq.store(seq + 2);
}

void RawClient::send_raw(const void *data, size_t len) {
  (void)::send(fd, data, len, MSG_NOSIGNAL);
}

}  // namespace tier::test
