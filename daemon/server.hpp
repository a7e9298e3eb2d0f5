// server.hpp - tierd's event loop: one thread, one io_uring.
//
// Everything tierd waits for is an io_uring operation whose user_data names its kind and its
// connection: accept on the listening socket, recvmsg on each connection (with SCM_RIGHTS
// room for the hello's memfd), a read of the epoch timerfd, a read of the watchdog timerfd
// (under systemd's watchdog only: WATCHDOG=1 every WATCHDOG_USEC / 2, whatever epoch_ms is),
// a read of the signalfd (SIGTERM / SIGINT: drain and exit; SIGHUP: reload), a poll of each
// client's pidfd (the client exited, even if its socket is still held by a child), and a
// timeout that closes connections silent for longer than hello_timeout_ms.
// Replies are small and sent synchronously with MSG_DONTWAIT; a peer that does not read them
// loses them, never blocks tierd.
//
// A connection is closed by cancelling its operations and closing its descriptors when the
// last one has completed, so no descriptor or mapping outlives a client.
//
// With metrics enabled, a MetricsEndpoint (metrics_endpoint.hpp) serves DaemonMetrics'
// registry from civetweb threads; the loop pushes figures into it (server_metrics.cpp) and
// those threads read nothing else.
//
// Thread-safety: run() on one thread; nothing else is shared.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "accept_backoff.hpp"
#include "client/daemon_protocol.hpp"
#include "client_state.hpp"
#include "common/result.hpp"
#include "daemon_metrics.hpp"
#include "daemon_options.hpp"
#include "metrics_endpoint.hpp"
#include "placement.hpp"
#include "pool_service.hpp"

namespace tier::daemon {

uint64_t monotonic_ms();  // CLOCK_MONOTONIC in milliseconds

class Server {
 public:
  // `reload` re-reads the configuration (SIGHUP); it returns the new options or why they
  // were refused. May be empty (SIGHUP then only logs).
  using ReloadFn = std::function<Result<DaemonOptions>()>;
  static Result<std::unique_ptr<Server>> create(const DaemonOptions &options, ReloadFn reload);
  ~Server();

  // Runs until SIGTERM/SIGINT; returns the exit status.
  int run();

 private:
  enum class Op : uint8_t {
    kAccept = 1,
    kRecv,
    kTimer,
    kSignal,
    kPidfd,
    kCancel,
    kWatchdog,
    kAcceptRetry,
    kHelloSweep
  };
  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    ucred cred{};
    bool closing = false;
    int inflight = 0;
    bool is_client = false;
    bool is_control = false;
    uint64_t opened_ms = 0;  // monotonic; for the hello deadline (server_deadline.cpp)
    std::unique_ptr<ClientState> client;
    // recvmsg state (must stay put while the operation is in flight)
    msghdr msg{};
    iovec iov{};
    std::vector<char> buf;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  };

  explicit Server(const DaemonOptions &options, ReloadFn reload);
  Status setup();
  void log(const char *level, const std::string &text) const;

  io_uring_sqe *sqe();
  static uint64_t pack_op(Op op);  // user_data of an operation that names no connection
  void arm_accept();
  void arm_accept_retry();  // arm_accept() after AcceptBackoff::kRetryMs
  void arm_recv(Conn *c);
  void arm_timer();
  void arm_watchdog();
  void arm_signal();
  void arm_pidfd(Conn *c);

  // server_deadline.cpp
  void arm_hello_sweep();
  void close_silent();
  void rearm_timer_interval();

  void on_accept(int res);
  void on_recv(Conn *c, int res);
  void on_signal();
  void close_conn(Conn *c, const std::string &why);
  void finish_op(Conn *c);
  void reap();

  void handle(Conn *c, const char *data, size_t len, int fd);
  void handle_hello(Conn *c, const daemon_proto::HelloMsg &m, int fd);
  void handle_control(Conn *c, daemon_proto::MsgType type, const daemon_proto::CtlMsg &m);
  void refuse(Conn *c, tier_status status, const std::string &why);
  void reply_ok(Conn *c, const std::string &text);
  bool is_admin(const ucred &cred) const;
  void reload();
  std::vector<ClientState *> clients() const;
  void apply_rules(ClientState *c) const;

  // server_metrics.cpp
  Status start_metrics();
  void publish_metrics();
  void reload_metrics(const DaemonOptions &before);

  DaemonOptions options_;
  ReloadFn reload_fn_;
  std::unique_ptr<Placement> placement_;
  std::unique_ptr<PoolService> pool_;  // [pool] backend set; destroyed before placement_
  io_uring ring_{};
  bool ring_ready_ = false;
  int listen_fd_ = -1, timer_fd_ = -1, signal_fd_ = -1;
  int watchdog_fd_ = -1;  // -1 when systemd expects no watchdog pings
  uint64_t timer_value_ = 0, watchdog_value_ = 0;
  alignas(8) char siginfo_[128];
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t next_conn_ = 1;
  uint32_t next_client_id_ = 1;
  size_t client_count_ = 0;
  bool stopping_ = false;
  bool accepting_ = false;
  AcceptBackoff accept_backoff_;
  __kernel_timespec accept_retry_ts_{};
  __kernel_timespec hello_sweep_ts_{};
  bool timer_armed_ = false, signal_armed_ = false;
  std::unique_ptr<DaemonMetrics> metrics_;             // always: counters run from the start
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;  // when metrics are enabled
};

}  // namespace tier::daemon
