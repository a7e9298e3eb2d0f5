// etcd_harness.hpp - a real etcd on loopback, owned by a test.
//
// EtcdProcess runs Debian's etcd (etcd-server's /usr/bin/etcd, or $TIER_ETCD_BIN) as a
// one-member cluster on two free loopback ports (client and peer) with a data directory in a
// fresh temporary directory, so tests never touch or collide with a system etcd service (its
// ports, /var/lib/etcd). It can be stopped (SIGTERM, or SIGKILL as a crash) and started again
// on the same ports and data, which is how the tests restart etcd under a client. Heartbeat
// and election timeouts are short (10 ms / 100 ms) so the member leads within a fraction of a
// second and leases of 1 s are allowed (etcd's minimum TTL is 1.5 election timeouts).
// The child gets PR_SET_PDEATHSIG, so a crashing test leaves no etcd behind; the destructor
// kills it and removes the directory. Not thread-safe: one owner thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "common/result.hpp"

namespace tier::test {

class EtcdProcess {
 public:
  // The etcd binary to run: $TIER_ETCD_BIN, else /usr/bin/etcd; "" when neither exists.
  static std::string binary();

  EtcdProcess();  // picks ports and the directory; does not start
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess &) = delete;
  EtcdProcess &operator=(const EtcdProcess &) = delete;

  // Spawns etcd and waits until it serves a read (it has a leader). An error names what
  // failed and ends with the tail of etcd's log.
  Status start(std::chrono::milliseconds ready_timeout = std::chrono::seconds(15));
  // SIGTERM (graceful) or SIGKILL, and waits for the process to be gone.
  void stop(bool graceful);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  std::string client_url() const;
  const std::string &data_dir() const { return data_dir_; }
  std::string log_tail() const;

 private:
  std::string dir_, data_dir_, log_;
  int client_port_ = 0, peer_port_ = 0;
  pid_t pid_ = -1;
};

// Skips the test binary (exit 77) when there is no etcd to run, or fails it when
// TIER_FAIL_ON_SKIP=1 (a CI run that must exercise etcd).
void require_etcd_or_skip();

}  // namespace tier::test
