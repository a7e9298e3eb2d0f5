// daemon_harness.hpp - helpers for tierd's integration tests: a temporary directory, tierd and
// client processes, a control connection, and polling with generous deadlines (the tests run
// on a loaded two-core machine; nothing here asserts on timing).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "client/daemon_protocol.hpp"

namespace tier::test {

std::string env_or_skip(const char *name);  // exits 77 (skip) when unset

struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
  std::string file(const std::string &name) const { return path + "/" + name; }
};

// Spawns argv with extra environment entries, stdout and stderr appended to `log`.
pid_t spawn(const std::vector<std::string> &argv, const std::vector<std::string> &env,
            const std::string &log);
// Waits for pid (up to `seconds`); returns its wait status, or -1 on timeout (then kills it).
int wait_exit(pid_t pid, double seconds);
bool alive(pid_t pid);

// Polls pred every 20 ms until it holds or `seconds` pass.
bool eventually(const std::function<bool()> &pred, double seconds);

std::string read_text(const std::string &path);
void write_text(const std::string &path, const std::string &text);
int count_fds(pid_t pid);
// CPU time (user + system) that pid has used, in seconds (-1 when it cannot be read).
double cpu_seconds(pid_t pid);
// count_fds once it has held still for 300 ms (10 s cap): a control connection the test has
// just closed stays open in tierd until its end of stream is handled, and a baseline taken in
// that window would count it.
int settled_fds(pid_t pid);

struct Tierd {
  // `launcher` goes before tierd's own argv: a program that execs the rest (e.g. prlimit),
  // so that pid is still tierd's.
  Tierd(const TempDir &dir, std::vector<std::string> extra = {},
        std::vector<std::string> launcher = {});
  ~Tierd();  // SIGTERM, then SIGKILL
  void start();
  void kill9();
  std::string log() const { return read_text(log_path); }
  std::string socket;
  std::string log_path;
  std::vector<std::string> extra;
  std::vector<std::string> launcher;
  pid_t pid = -1;
};

// A client process (tier_daemon_client) talking to `tierd`.
struct Client {
  Client(const TempDir &dir, const std::string &name, const std::string &socket, int chunks,
         int hot, std::vector<std::string> env = {}, const std::string &slow = "tier:1",
         bool agent = false);
  ~Client();
  // Last status line: phase, hot blocks on the fast tier, hot set size, rounds.
  bool converged(int phase) const;
  uint64_t fast_mask() const;            // blocks on the fast tier (bit i = block i)
  std::vector<uint64_t> blocks() const;  // the blocks' addresses
  std::string phase_file, status_file, log_path;
  pid_t pid = -1;
};

// One control request; the reply's raw bytes (empty when tierd did not answer).
std::vector<char> control(const std::string &socket, daemon_proto::MsgType type,
                          const daemon_proto::CtlMsg &extra = {});
// Clients tierd lists now (-1 when it does not answer).
int client_count(const std::string &socket);
std::vector<daemon_proto::ClientStatus> clients(const std::string &socket);

}  // namespace tier::test

namespace tier::test {

// A hand-made client speaking the protocol directly, so tests can send what libtier never
// would. Every knob defaults to what a well-behaved client sends.
struct RawClient {
  struct Hello {
    int32_t pid = 0;  // 0 = our own
    uint16_t version = daemon_proto::kVersion;
    uint32_t capacity = 64;
    bool attach_memfd = true;
    bool seal = true;
  };
  explicit RawClient(const std::string &socket);
  ~RawClient();
  bool connected() const { return fd >= 0; }
  // Sends the hello; returns the reply type (kHelloOk, kError) or 0 when none came.
  int hello(const Hello &h);
  void region_add(uint32_t id, uint64_t base, uint64_t length, uint64_t generation);
  // Publishes entries (written as given, count as given) under the seqlock.
  void publish(const std::vector<daemon_proto::ShmChunk> &entries, uint32_t count,
               uint64_t region_generation);
  void send_raw(const void *data, size_t len);
  int fd = -1;
  void *shm = nullptr;
  size_t shm_len = 0;
  uint32_t capacity = 0;
};

}  // namespace tier::test
