// daemon_link.hpp - a runtime's connection to tierd (the client side of daemon_protocol.hpp).
//
// TIER_DAEMON selects the mode: `auto` (default) connects whenever the socket
// ($TIER_DAEMON_SOCKET, else /run/tier/tierd.sock) is there, `off` never does, `required`
// makes the first tier_region_register fail when tierd cannot be reached. The link starts with
// the runtime's first registered region and runs one thread that:
//  - connects (hello + the shared table's memfd), retrying with backoff (100 ms doubling to
//    2 s) while tierd is absent or after it went away;
//  - every epoch_ms/2 sends the region changes since the last sync, applies the move requests
//    tierd left in the shared table (emulated topologies: the in-process emulated mover
//    relocates the chunk), and republishes every chunk's counters and node;
//  - notices tierd's exit (end of stream) and drops back to disconnected.
// While connected the in-process agent's epochs do not plan (tierd plans for everyone); while
// disconnected they do, so a process keeps its placement whether or not tierd runs.
//
// Thread-safety: connected() may be called from any thread; everything else belongs to the
// link thread, except start()/stop() (serialised by the owning Agent).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.hpp"

struct tier_runtime;

namespace tier::client {

class Agent;

enum class DaemonMode { kOff, kAuto, kRequired };
// Parses TIER_DAEMON (unset/"" = auto). An unknown value is reported and read as auto.
DaemonMode daemon_mode_from_env();

class DaemonLink {
 public:
  DaemonLink(Agent *agent, tier_runtime *rt, DaemonMode mode, std::string socket_path);
  ~DaemonLink();  // stops the thread and disconnects
  DaemonLink(const DaemonLink &) = delete;
  DaemonLink &operator=(const DaemonLink &) = delete;

  // Starts the link thread (once). In required mode the first connection is made here, and
  // its failure is returned (the thread is then not started).
  Status start();
  void stop();
  // True while tierd serves this process (false in a forked child: the link is the parent's).
  bool connected() const;
  DaemonMode mode() const { return mode_; }

  // Called by the agent under its epoch lock: one sync of regions, requests and counters.
  // Returns false when the connection broke (the link thread then reconnects).
  bool sync_locked();

 private:
  void loop();
  Status connect_once();
  void disconnect();
  bool send_region_changes();  // epoch lock held
  void apply_requests();       // epoch lock held
  void publish();              // epoch lock held
  void drain_incoming();       // reads what tierd sent (errors), notices its exit

  Agent *agent_;
  tier_runtime *rt_;
  const DaemonMode mode_;
  const std::string path_;
  const int owner_pid_;

  std::mutex mu_;  // guards started_/stop_ and the condition variable
  std::condition_variable cv_;
  bool started_ = false;
  bool stop_ = false;
  std::thread thread_;

  std::atomic<bool> connected_{false};
  std::atomic<bool> broken_{false};
  int sock_ = -1;
  void *shm_ = nullptr;
  size_t shm_len_ = 0;
  uint32_t capacity_ = 0;
  uint32_t max_requests_ = 0;
  uint32_t sync_ms_ = 50;
  uint32_t last_request_gen_ = 0;
  uint64_t region_generation_ = 0;
  struct SentRegion {
    uint64_t length;
    uint32_t id;
    bool operator==(const SentRegion &) const = default;
  };
  std::map<uintptr_t, SentRegion> sent_;  // regions tierd knows, by base
};

}  // namespace tier::client
