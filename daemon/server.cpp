// server.cpp - tierd's io_uring event loop, connections and message handling (see server.hpp).
// One thread.
#include "server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "systemd_notify.hpp"
#include "topology/topology.hpp"

namespace tier::daemon {

namespace dp = tier::daemon_proto;

namespace {

constexpr size_t kRecvBuffer = 4096;      // larger than any message a peer may send tierd
constexpr size_t kExtraConnections = 64;  // beyond max_clients: tierctl and hellos in flight

uint64_t pack(uint8_t op, uint64_t id) {
  return (uint64_t{op} << 56) | (id & ((uint64_t{1} << 56) - 1));
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5; bookworm's headers predate it
#endif

// The pidfd of the process that connected. SO_PEERPIDFD names exactly that process, even if it
// has exited and its pid been reused since. Kernels before 6.5 answer ENOPROTOOPT, and then
// pidfd_open(pid) could open a newer process that reused the pid of a client that exited; for
// that the client's socket must still be open (held by a forked child), so a peer that has hung
// up is refused, which leaves only that forked-child case open on old kernels.
int open_peer_pidfd(int sock, pid_t pid) {
  int fd = -1;
  socklen_t len = sizeof fd;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0) return fd;
  if (errno != ENOPROTOOPT) return -1;  // ESRCH: the peer has already exited
  fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return -1;
  pollfd p{sock, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP)) != 0) {
    ::close(fd);
    errno = ESRCH;
    return -1;
  }
  return fd;
}

std::string proc_comm(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  std::string s;
  std::getline(f, s);
  return s;
}

// Supplementary groups of a process, from /proc (SO_PEERCRED carries only the primary gid).
std::vector<gid_t> proc_groups(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::vector<gid_t> out;
  while (std::getline(f, line))
    if (line.rfind("Groups:", 0) == 0) {
      std::istringstream in(line.substr(7));
      long g;
      while (in >> g) out.push_back(static_cast<gid_t>(g));
    }
  return out;
}

}  // namespace

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

Server::Server(const DaemonOptions &options, ReloadFn reload)
    : options_(options), reload_fn_(std::move(reload)) {}

Server::~Server() {
  metrics_endpoint_.reset();  // stops civetweb's threads before anything they could reach goes
  conns_.clear();
  if (ring_ready_) io_uring_queue_exit(&ring_);
  for (int fd : {listen_fd_, timer_fd_, signal_fd_, watchdog_fd_})
    if (fd >= 0) ::close(fd);
}

void Server::log(const char *level, const std::string &text) const {
  if (std::strcmp(level, "debug") == 0 && options_.log_level != "debug") return;
  std::fprintf(stderr, "tierd: %s: %s\n", level, text.c_str());
}

Result<std::unique_ptr<Server>> Server::create(const DaemonOptions &options, ReloadFn reload) {
  std::unique_ptr<Server> s(new Server(options, std::move(reload)));
  if (Status st = s->setup(); !st) return std::move(st).error();
  return s;
}

Status Server::setup() {
  if (options_.epoch_ms == 0) return make_error(TIER_ECONFIG, "epoch_ms must be > 0");
  Result<Topology> topo =
      resolve_topology(options_.topology.empty() ? nullptr : options_.topology.c_str());
  if (!topo) return std::move(topo).error().context("topology");
  Result<std::unique_ptr<Placement>> p =
      Placement::create(options_, std::move(*topo),
                        [this](const char *level, const std::string &text) { log(level, text); });
  if (!p) return std::move(p).error();
  placement_ = std::move(*p);
  if (options_.pool_backend != "none") {
    Result<std::unique_ptr<PoolService>> pool = PoolService::create(
        options_, placement_.get(),
        [this](const char *level, const std::string &text) { log(level, text); });
    if (!pool) return std::move(pool).error();
    pool_ = std::move(*pool);
  }

  // Signals arrive through the signalfd only.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return os_error("sigprocmask");
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC);
  if (signal_fd_ < 0) return os_error("signalfd");

  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (timer_fd_ < 0) return os_error("timerfd_create");
  rearm_timer_interval();
  // systemd's watchdog (WatchdogSec in tierd.service) hears from the loop on a timer of its
  // own: tied to epochs, an epoch_ms of half WatchdogSec or more would get tierd killed.
  uint64_t watchdog_period_usec = 0;
  Result<int> watchdog = open_watchdog_timer(&watchdog_period_usec);
  if (!watchdog) return std::move(watchdog).error();
  watchdog_fd_ = *watchdog;

  const std::string &path = options_.socket_path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return make_error(TIER_ECONFIG, "socket path \"" + path + "\" is empty or too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // The directory (e.g. /run/tier) is created if missing; the socket is open to every user:
  // clients are told apart by SO_PEERCRED and admin actions are checked per request.
  if (const size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0)
    ::mkdir(path.substr(0, slash).c_str(), 0755);
  if (Result<int> other = dp::connect_socket(path); other) {
    ::close(*other);
    return make_error(TIER_EBUSY, "another tierd listens on " + path);
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return make_error(TIER_ECONFIG, path + " exists and is not a socket");
    ::unlink(path.c_str());  // a stale socket from a tierd that died
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return os_error("socket");
  if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
    return os_error("bind " + path);
  ::chmod(path.c_str(), 0666);
  if (::listen(listen_fd_, 256) != 0) return os_error("listen");
  // After sigprocmask above: the endpoint's threads inherit the blocked signals.
  if (Status s = start_metrics(); !s) {
    ::unlink(path.c_str());
    return s;
  }

  if (int e = io_uring_queue_init(512, &ring_, 0); e < 0)
    return os_error("io_uring_queue_init", -e);
  ring_ready_ = true;
  log("info", "listening on " + path + "; topology " + placement_->topology().source +
                  (placement_->emulated() ? " (emulated: clients apply moves)"
                                          : " (real NUMA: move_pages)") +
                  "; policy " + placement_->policy_name() + "; epoch " +
                  std::to_string(options_.epoch_ms) + " ms");
  if (watchdog_fd_ >= 0)
    log("info", "systemd watchdog: WATCHDOG=1 every " +
                    std::to_string(watchdog_period_usec / 1000) + " ms");
  return {};
}

void Server::rearm_timer_interval() {
  itimerspec its{};
  its.it_interval.tv_sec = options_.epoch_ms / 1000;
  its.it_interval.tv_nsec = static_cast<long>(options_.epoch_ms % 1000) * 1000000L;
  its.it_value = its.it_interval;
  ::timerfd_settime(timer_fd_, 0, &its, nullptr);
}

uint64_t Server::pack_op(Op op) {
  return pack(static_cast<uint8_t>(op), 0);
}

io_uring_sqe *Server::sqe() {
  io_uring_sqe *s = io_uring_get_sqe(&ring_);
  if (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;  // never null after a submit: the ring has room for every armed operation
}

void Server::arm_accept() {
  io_uring_sqe *s = sqe();
  io_uring_prep_accept(s, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kAccept), 0));
  accepting_ = true;
}

void Server::arm_accept_retry() {
  accept_retry_ts_.tv_sec = static_cast<long long>(AcceptBackoff::kRetryMs / 1000);
  accept_retry_ts_.tv_nsec = static_cast<long long>(AcceptBackoff::kRetryMs % 1000) * 1000000;
  io_uring_sqe *s = sqe();
  io_uring_prep_timeout(s, &accept_retry_ts_, 0, 0);
  io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kAcceptRetry), 0));
}

void Server::arm_recv(Conn *c) {
  c->iov = {c->buf.data(), c->buf.size()};
  c->msg = msghdr{};
  c->msg.msg_iov = &c->iov;
  c->msg.msg_iovlen = 1;
  c->msg.msg_control = c->control;
  c->msg.msg_controllen = sizeof c->control;
  io_uring_sqe *s = sqe();
  io_uring_prep_recvmsg(s, c->fd, &c->msg, MSG_CMSG_CLOEXEC);
  io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kRecv), c->id));
  ++c->inflight;
}

void Server::arm_timer() {
  io_uring_sqe *s = sqe();
  io_uring_prep_read(s, timer_fd_, &timer_value_, sizeof timer_value_, 0);
  io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kTimer), 0));
  timer_armed_ = true;
}

void Server::arm_watchdog() {
  io_uring_sqe *s = sqe();
  io_uring_prep_read(s, watchdog_fd_, &watchdog_value_, sizeof watchdog_value_, 0);
  io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kWatchdog), 0));
}

void Server::arm_signal() {
  io_uring_sqe *s = sqe();
  io_uring_prep_read(s, signal_fd_, siginfo_, sizeof(signalfd_siginfo), 0);
  io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kSignal), 0));
  signal_armed_ = true;
}

void Server::arm_pidfd(Conn *c) {
  io_uring_sqe *s = sqe();
  io_uring_prep_poll_add(s, c->client->pidfd, POLLIN);
  io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kPidfd), c->id));
  ++c->inflight;
}

std::vector<ClientState *> Server::clients() const {
  std::vector<ClientState *> out;
  for (const auto &[id, c] : conns_)
    if (c->client && !c->closing) out.push_back(c->client.get());
  return out;
}

int Server::run() {
  arm_accept();
  arm_timer();
  arm_signal();
  arm_hello_sweep();
  if (watchdog_fd_ >= 0) arm_watchdog();
  while (!(stopping_ && conns_.empty())) {
    int e = io_uring_submit_and_wait(&ring_, 1);
    if (e < 0 && e != -EINTR) {
      log("error", std::string("io_uring: ") + std::strerror(-e));
      return 1;
    }
    io_uring_cqe *cqe;
    unsigned head, seen = 0;
    // Completions are copied out first: handlers queue new operations on the same ring.
    std::vector<std::pair<uint64_t, int>> done;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      done.emplace_back(cqe->user_data, cqe->res);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    for (const auto &[data, res] : done) {
      const auto op = static_cast<Op>(data >> 56);
      const uint64_t id = data & ((uint64_t{1} << 56) - 1);
      Conn *c = nullptr;
      if (id) {
        auto it = conns_.find(id);
        if (it != conns_.end()) c = it->second.get();
      }
      switch (op) {
        case Op::kAccept:
          accepting_ = false;
          on_accept(res);
          break;
        case Op::kAcceptRetry:
          if (!stopping_) arm_accept();
          break;
        case Op::kHelloSweep:
          if (!stopping_) {
            close_silent();
            arm_hello_sweep();
          }
          break;
        case Op::kRecv:
          if (c) on_recv(c, res);
          break;
        case Op::kTimer:
          timer_armed_ = false;
          if (!stopping_) {
            const EpochSummary s = placement_->run_epoch(clients());
            // After the plan: the clients' published use is fresh, and the pool's moves
            // (give-backs) join the batches the plan did not fill.
            if (pool_) pool_->step(clients());
            if (metrics_endpoint_) publish_metrics();
            if (s.moves_issued)
              log("debug", "epoch " + std::to_string(s.epoch) + ": " +
                               std::to_string(s.moves_issued) + " moves, " +
                               std::to_string(s.chunks) + " chunks, " +
                               std::to_string(s.epoch_ns / 1000) + " us");
            arm_timer();
          }
          break;
        case Op::kSignal:
          signal_armed_ = false;
          if (res == static_cast<int>(sizeof(signalfd_siginfo))) on_signal();
          if (!stopping_) arm_signal();
          break;
        case Op::kPidfd:
          if (c) {
            finish_op(c);
            if (!c->closing) close_conn(c, "process exited");
          }
          break;
        case Op::kWatchdog:
          // Also while draining connections at a stop: the loop still runs. A failed read
          // ends the pings, and systemd then restarts a tierd whose loop it cannot vouch for.
          if (res == static_cast<int>(sizeof watchdog_value_)) {
            notify_watchdog();
            arm_watchdog();
          } else {
            log("error", std::string("watchdog timer: ") +
                             (res < 0 ? std::strerror(-res) : "short read") +
                             "; no more WATCHDOG=1");
          }
          break;
        case Op::kCancel:
          break;
      }
    }
    reap();
  }
  log("info", "stopped");
  return 0;
}

void Server::on_signal() {
  signalfd_siginfo si;
  std::memcpy(&si, siginfo_, sizeof si);
  if (si.ssi_signo == SIGHUP) {
    reload();
    return;
  }
  notify_stopping();
  log("info", std::string("signal ") + strsignal(static_cast<int>(si.ssi_signo)) + ": closing " +
                  std::to_string(conns_.size()) + " connections and exiting");
  stopping_ = true;
  std::vector<Conn *> all;
  for (auto &[id, c] : conns_) all.push_back(c.get());
  for (Conn *c : all) close_conn(c, "tierd is stopping");
  // Only our own socket file is removed (a newer tierd may have replaced it).
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(options_.socket_path.c_str());
}

void Server::on_accept(int res) {
  if (stopping_) {
    if (res >= 0) ::close(res);
    return;
  }
  if (res < 0 && AcceptBackoff::is_shortage(-res)) {
    // The connection stays queued: an accept armed now would fail now, and again.
    if (const std::string line = accept_backoff_.failed(-res, monotonic_ms()); !line.empty())
      log("warn", line);
    arm_accept_retry();
    return;
  }
  if (res >= 0)
    if (const std::string line = accept_backoff_.succeeded(monotonic_ms()); !line.empty())
      log("info", line);
  if (res < 0) {
    log("warn", std::string("accept: ") + std::strerror(-res));
  } else if (conns_.size() >= size_t{options_.max_clients} + kExtraConnections) {
    // Control connections do not count as clients; this bounds them too, so no peer can run
    // tierd out of descriptors.
    log("warn", "refused a connection: " + std::to_string(conns_.size()) + " are open");
    ::close(res);
  } else {
    auto c = std::make_unique<Conn>();
    c->id = next_conn_++;
    c->fd = res;
    c->opened_ms = monotonic_ms();
    socklen_t len = sizeof c->cred;
    if (::getsockopt(res, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) != 0) {
      log("warn", std::string("SO_PEERCRED: ") + std::strerror(errno));
      ::close(res);
    } else {
      c->buf.resize(kRecvBuffer);
      Conn *raw = c.get();
      conns_.emplace(raw->id, std::move(c));
      arm_recv(raw);
    }
  }
  arm_accept();
}

void Server::finish_op(Conn *c) {
  --c->inflight;
}

void Server::reap() {
  // Closed connections go once their last operation has completed: the kernel no longer
  // writes into their buffers, and their descriptors can be closed.
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn *c = it->second.get();
    if (c->closing && c->inflight == 0) {
      ::close(c->fd);
      it = conns_.erase(it);  // the ClientState unmaps its table and closes its pidfd
    } else {
      ++it;
    }
  }
}

void Server::close_conn(Conn *c, const std::string &why) {
  if (c->closing) return;
  c->closing = true;
  if (c->client) {
    --client_count_;
    metrics_->set_clients(client_count_);
    log("info",
        "client " + std::to_string(c->client->pid) + " (" + c->client->comm + ") left: " + why);
  }
  // Pending operations are cancelled; the descriptors close when the last one completes.
  ::shutdown(c->fd, SHUT_RDWR);
  if (c->inflight > 0)
    for (Op op : {Op::kRecv, Op::kPidfd}) {
      io_uring_sqe *s = sqe();
      io_uring_prep_cancel64(s, pack(static_cast<uint8_t>(op), c->id), 0);
      io_uring_sqe_set_data64(s, pack(static_cast<uint8_t>(Op::kCancel), 0));
    }
}

void Server::on_recv(Conn *c, int res) {
  --c->inflight;
  if (c->closing) return;
  if (res <= 0) {
    close_conn(c, res == 0 ? "closed the connection" : std::strerror(-res));
    return;
  }
  std::vector<int> fds;
  for (cmsghdr *h = CMSG_FIRSTHDR(&c->msg); h; h = CMSG_NXTHDR(&c->msg, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
      const size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
        fds.push_back(fd);
      }
    }
  // At most one descriptor is ever expected (the hello's memfd); the others are closed now.
  const int fd = fds.empty() ? -1 : fds[0];
  for (size_t i = 1; i < fds.size(); ++i) ::close(fds[i]);
  if (c->msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    if (fd >= 0) ::close(fd);
    refuse(c, TIER_EPROTO,
           "message longer than " + std::to_string(kRecvBuffer) +
               " bytes or with too many descriptors");
  } else {
    handle(c, c->buf.data(), static_cast<size_t>(res), fd);
  }
  if (!c->closing) arm_recv(c);
}

void Server::refuse(Conn *c, tier_status status, const std::string &why) {
  ++placement_->refusals_total;
  metrics_->message_refused(status == TIER_EPROTO  ? MessageRefusal::kMalformed
                            : status == TIER_EPERM ? MessageRefusal::kUnauthorised
                                                   : MessageRefusal::kInvalid);
  if (c->client) ++c->client->refusals;
  log("warn", "refused a message from pid " + std::to_string(c->cred.pid) + " (uid " +
                  std::to_string(c->cred.uid) + "): " + why);
  auto m = dp::make_message<dp::TextMsg>(dp::MsgType::kError);
  m.status = status;
  dp::copy_text(m.text, why);
  (void)dp::send_message(c->fd, &m, sizeof m, -1, /*dontwait=*/true);
}

void Server::reply_ok(Conn *c, const std::string &text) {
  auto m = dp::make_message<dp::TextMsg>(dp::MsgType::kCtlOk);
  dp::copy_text(m.text, text);
  (void)dp::send_message(c->fd, &m, sizeof m, -1, true);
}

void Server::handle(Conn *c, const char *data, size_t len, int fd) {
  Result<dp::MsgType> t = dp::check_message(data, len);
  if (!t) {
    if (fd >= 0) ::close(fd);
    refuse(c, TIER_EPROTO, t.error().message);
    return;
  }
  const dp::MsgType type = *t;
  if (type == dp::MsgType::kHello) {
    dp::HelloMsg m;
    std::memcpy(&m, data, sizeof m);
    handle_hello(c, m, fd);
    return;
  }
  if (fd >= 0) ::close(fd);
  switch (type) {
    case dp::MsgType::kRegionAdd:
    case dp::MsgType::kRegionDel: {
      if (!c->client) {
        refuse(c, TIER_EPROTO, "region message before hello");
        return;
      }
      dp::RegionMsg m;
      std::memcpy(&m, data, sizeof m);
      Status s = type == dp::MsgType::kRegionAdd ? add_region(c->client.get(), m)
                                                 : remove_region(c->client.get(), m);
      if (!s) refuse(c, TIER_EPROTO, std::string(dp::type_name(type)) + ": " + s.error().message);
      return;
    }
    case dp::MsgType::kCtlStatus:
    case dp::MsgType::kCtlClients:
    case dp::MsgType::kCtlPolicyGet:
    case dp::MsgType::kCtlPolicySet:
    case dp::MsgType::kCtlMigrate:
    case dp::MsgType::kCtlPool: {
      if (c->client) {
        refuse(c, TIER_EPROTO, "control request on a client connection");
        return;
      }
      c->is_control = true;
      dp::CtlMsg m;
      std::memcpy(&m, data, sizeof m);
      handle_control(c, type, m);
      return;
    }
    default:
      refuse(c, TIER_EPROTO, std::string("unexpected ") + dp::type_name(type) + " message");
  }
}

void Server::apply_rules(ClientState *c) const {
  c->priority = 0;
  c->quota_bytes = options_.default_quota_bytes;
  for (const ClientRuleOptions &r : options_.clients) {
    if (!r.match_comm.empty() && r.match_comm != c->comm) continue;
    if (r.match_uid >= 0 && static_cast<uid_t>(r.match_uid) != c->uid) continue;
    c->priority = r.priority;
    if (r.quota_bytes) c->quota_bytes = r.quota_bytes;
    break;  // the first matching rule wins
  }
}

void Server::handle_hello(Conn *c, const dp::HelloMsg &m, int fd) {
  auto reject = [&](const std::string &why, ClientRefusal kind = ClientRefusal::kInvalid) {
    metrics_->client_refused(kind);
    if (fd >= 0) ::close(fd);
    refuse(c, TIER_EPROTO, "hello: " + why);
    close_conn(c, "hello refused");
  };
  if (c->client || c->is_control) return reject("a second hello");
  if (Status s = dp::check_hello(m, c->cred.pid); !s) return reject(s.error().message);
  if (fd < 0) return reject("no table memfd attached");
  if ((m.emulated != 0) != placement_->emulated())
    return reject(std::string("the client's topology is ") + (m.emulated ? "emulated" : "real") +
                      " but tierd's is " + (placement_->emulated() ? "emulated" : "real"),
                  ClientRefusal::kTopology);
  for (uint32_t i = 0; i < m.nnodes; ++i)
    if (!placement_->topology().find(m.nodes[i]))
      return reject("node " + std::to_string(m.nodes[i]) + " is not in tierd's topology (" +
                        placement_->topology().source + ")",
                    ClientRefusal::kTopology);
  if (client_count_ >= options_.max_clients)
    return reject(
        "tierd serves its maximum of " + std::to_string(options_.max_clients) + " clients",
        ClientRefusal::kMaxClients);
  auto cs = std::make_unique<ClientState>();
  cs->id = next_client_id_++;
  cs->pid = c->cred.pid;
  cs->uid = c->cred.uid;
  cs->gid = c->cred.gid;
  cs->comm = proc_comm(cs->pid);
  cs->emulated = m.emulated != 0;
  cs->capacity = m.capacity;
  cs->max_requests = m.max_requests;
  cs->chunk_shift = m.chunk_shift;
  if (Status s = attach_table(cs.get(), fd); !s) {
    metrics_->client_refused(ClientRefusal::kInvalid);
    refuse(c, TIER_EPROTO, "hello: " + s.error().message);
    close_conn(c, "hello refused");
    return;
  }
  cs->pidfd = open_peer_pidfd(c->fd, cs->pid);
  if (cs->pidfd < 0) {
    metrics_->client_refused(ClientRefusal::kExited);
    refuse(c, TIER_EOS, std::string("peer pidfd: ") + std::strerror(errno));
    close_conn(c, "hello refused");
    return;
  }
  apply_rules(cs.get());
  c->client = std::move(cs);
  c->is_client = true;
  ++client_count_;
  metrics_->set_clients(client_count_);
  auto ok = dp::make_message<dp::HelloOkMsg>(dp::MsgType::kHelloOk);
  ok.client_id = c->client->id;
  ok.epoch_ms = options_.epoch_ms;
  (void)dp::send_message(c->fd, &ok, sizeof ok, -1, true);
  arm_pidfd(c);
  log("info", "client " + std::to_string(c->client->pid) + " (" + c->client->comm + ", uid " +
                  std::to_string(c->client->uid) + ") connected");
}

bool Server::is_admin(const ucred &cred) const {
  if (cred.uid == 0) return true;
  if (options_.admin_group.empty()) return false;
  group g, *found = nullptr;
  char buf[4096];
  if (getgrnam_r(options_.admin_group.c_str(), &g, buf, sizeof buf, &found) != 0 || !found)
    return false;
  if (cred.gid == found->gr_gid) return true;
  for (gid_t x : proc_groups(cred.pid))
    if (x == found->gr_gid) return true;
  return false;
}

void Server::handle_control(Conn *c, dp::MsgType type, const dp::CtlMsg &m) {
  const bool admin_op = type == dp::MsgType::kCtlPolicySet || type == dp::MsgType::kCtlMigrate;
  if (admin_op && !is_admin(c->cred)) {
    refuse(c, TIER_EPERM,
           std::string(dp::type_name(type)) + " needs root" +
               (options_.admin_group.empty() ? "" : " or group " + options_.admin_group));
    return;
  }
  switch (type) {
    case dp::MsgType::kCtlStatus: {
      auto r = std::make_unique<dp::StatusReply>();
      *r = dp::make_message<dp::StatusReply>(dp::MsgType::kStatusReply);
      placement_->fill_status(r.get(), clients());
      (void)dp::send_message(c->fd, r.get(), sizeof *r, -1, true);
      return;
    }
    case dp::MsgType::kCtlClients: {
      const std::vector<ClientState *> all = clients();
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(all.size(), dp::kMaxClientsListed));
      std::vector<char> buf(dp::clients_reply_size(n));
      auto *r = reinterpret_cast<dp::ClientsReply *>(buf.data());
      r->h = dp::make_message<dp::HelloOkMsg>(dp::MsgType::kClientsReply).h;
      r->h.length = static_cast<uint32_t>(buf.size());
      r->count = n;
      r->total = static_cast<uint32_t>(all.size());
      for (uint32_t i = 0; i < n; ++i) {
        dp::ClientStatus s{};
        placement_->fill_client(&s, *all[i]);
        std::memcpy(buf.data() + dp::clients_reply_size(i), &s, sizeof s);
      }
      (void)dp::send_message(c->fd, buf.data(), buf.size(), -1, true);
      return;
    }
    case dp::MsgType::kCtlPool: {
      if (!pool_) {
        refuse(c, TIER_ENODEV, "tierd runs without a pool (pool.backend = \"none\")");
        return;
      }
      Result<std::string> json = pool_->status_json();
      if (!json) {
        refuse(c, json.status(), "pool: " + json.error().message);
        return;
      }
      const auto n = static_cast<uint32_t>(json->size());
      std::vector<char> buf(std::max(dp::pool_reply_size(n), sizeof(dp::PoolReply)));
      auto *r = reinterpret_cast<dp::PoolReply *>(buf.data());
      r->h = dp::make_message<dp::HelloOkMsg>(dp::MsgType::kPoolReply).h;
      r->h.length = static_cast<uint32_t>(dp::pool_reply_size(n));
      r->length = n;
      std::memcpy(buf.data() + offsetof(dp::PoolReply, json), json->data(), n);
      (void)dp::send_message(c->fd, buf.data(), dp::pool_reply_size(n), -1, true);
      return;
    }
    case dp::MsgType::kCtlPolicyGet: {
      std::string names;
      for (const std::string &n : policy::policy_names()) names += (names.empty() ? "" : ",") + n;
      reply_ok(c, std::string(placement_->policy_name()) + "\t" + names);
      return;
    }
    case dp::MsgType::kCtlPolicySet: {
      const std::string name = dp::field_text(m.name);
      if (Status s = placement_->set_policy(name); !s) {
        refuse(c, TIER_EINVAL, s.error().message);
        return;
      }
      log("info", "policy set to " + name + " by uid " + std::to_string(c->cred.uid));
      reply_ok(c, "policy " + name);
      return;
    }
    case dp::MsgType::kCtlMigrate: {
      ClientState *target = nullptr;
      for (ClientState *cs : clients())
        if (cs->pid == m.pid) target = cs;
      if (!target) {
        refuse(c, TIER_EINVAL, "migrate: pid " + std::to_string(m.pid) + " is not a client");
        return;
      }
      Result<uint64_t> n = placement_->migrate(target, m.start, m.end, m.node);
      if (!n) {
        refuse(c, n.status(), "migrate: " + n.error().message);
        return;
      }
      log("info", "migrate by uid " + std::to_string(c->cred.uid) + ": pid " +
                      std::to_string(m.pid) + ", " + std::to_string(*n) + " chunks to node " +
                      std::to_string(m.node));
      reply_ok(c, std::to_string(*n) + " chunks " +
                      (target->emulated ? "handed to the client's mover" : "moved"));
      return;
    }
    default:
      return;
  }
}

void Server::reload() {
  if (!reload_fn_) {
    log("info", "SIGHUP: no configuration file to reload");
    return;
  }
  notify_reloading();
  // systemd waits for READY=1 after RELOADING=1, whether the new file was taken or not.
  struct ReadyAgain {
    ~ReadyAgain() { notify_ready(); }
  } ready_again;
  Result<DaemonOptions> r = reload_fn_();
  if (!r) {
    log("warn", "SIGHUP: new configuration refused, keeping the running one: " + r.error().message);
    metrics_->reload(false);
    return;
  }
  const DaemonOptions &n = *r;
  std::vector<std::string> changes;
  auto note = [&](const char *field, const std::string &a, const std::string &b) {
    if (a != b) changes.push_back(std::string(field) + ": " + a + " -> " + b);
  };
  note("policy", options_.policy, n.policy);
  note("epoch_ms", std::to_string(options_.epoch_ms), std::to_string(n.epoch_ms));
  note("budget_bytes_per_epoch", std::to_string(options_.budget_bytes_per_epoch),
       std::to_string(n.budget_bytes_per_epoch));
  note("rate_bytes_per_second", std::to_string(options_.rate_bytes_per_second),
       std::to_string(n.rate_bytes_per_second));
  note("half_life_epochs", std::to_string(options_.half_life_epochs),
       std::to_string(n.half_life_epochs));
  note("admin_group", options_.admin_group, n.admin_group);
  note("max_clients", std::to_string(options_.max_clients), std::to_string(n.max_clients));
  note("hello_timeout_ms", std::to_string(options_.hello_timeout_ms),
       std::to_string(n.hello_timeout_ms));
  note("default_quota_bytes", std::to_string(options_.default_quota_bytes),
       std::to_string(n.default_quota_bytes));
  note("metrics",
       options_.metrics_enabled
           ? MetricsEndpoint::listen_spec(options_.metrics_address, options_.metrics_port)
           : "off",
       n.metrics_enabled ? MetricsEndpoint::listen_spec(n.metrics_address, n.metrics_port) : "off");
  if (n.policy != options_.policy)
    if (Status s = placement_->set_policy(n.policy); !s) {
      log("warn", "SIGHUP: refused: " + s.error().message);
      metrics_->reload(false);
      return;
    }
  if (n.socket_path != options_.socket_path || n.topology != options_.topology)
    log("warn", "SIGHUP: socket_path and topology change only with a restart");
  const std::string keep_socket = options_.socket_path, keep_topology = options_.topology;
  const bool new_epoch = n.epoch_ms != options_.epoch_ms && n.epoch_ms > 0;
  const DaemonOptions before = options_;
  options_ = n;
  options_.socket_path = keep_socket;
  options_.topology = keep_topology;
  placement_->set_tuning(options_);
  if (new_epoch) rearm_timer_interval();
  for (ClientState *c : clients()) apply_rules(c);
  metrics_->reload(true);
  reload_metrics(before);
  if (changes.empty()) log("info", "SIGHUP: configuration reloaded, nothing changed");
  for (const std::string &ch : changes) log("info", "SIGHUP: " + ch);
}

}  // namespace tier::daemon
