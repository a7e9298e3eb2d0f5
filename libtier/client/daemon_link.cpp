// daemon_link.cpp - the client side of tierd (see daemon_link.hpp and docs/daemon.md).
//
// Thread-safety: the link thread owns the socket and the mapping; sync_locked() runs with the
// agent's epoch lock held, so the chunk table, regions and mover it reads are stable.
#include "client/daemon_link.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "alloc/runtime.hpp"
#include "client/agent.hpp"
#include "client/daemon_protocol.hpp"
#include "prim/os.hpp"

namespace tier::client {

namespace dp = tier::daemon_proto;

namespace {

constexpr uint32_t kClientCapacity = 1u << 18;  // chunks published (512 GiB at 2 MiB)
constexpr uint32_t kClientRequests = 4096;      // move requests one batch may carry
constexpr int kHelloTimeoutMs = 3000;
constexpr uint32_t kMinBackoffMs = 100, kMaxBackoffMs = 2000;

bool verbose() {
  static const bool v = [] {
    const char *e = std::getenv("TIER_DAEMON_VERBOSE");
    return e && *e && *e != '0';
  }();
  return v;
}

}  // namespace

DaemonMode daemon_mode_from_env() {
  const char *e = std::getenv("TIER_DAEMON");
  if (!e || !*e || std::strcmp(e, "auto") == 0) return DaemonMode::kAuto;
  if (std::strcmp(e, "off") == 0 || std::strcmp(e, "0") == 0) return DaemonMode::kOff;
  if (std::strcmp(e, "required") == 0) return DaemonMode::kRequired;
  std::fprintf(stderr, "libtier: TIER_DAEMON=\"%s\" is not auto, off or required; using auto\n", e);
  return DaemonMode::kAuto;
}

DaemonLink::DaemonLink(Agent *agent, tier_runtime *rt, DaemonMode mode, std::string socket_path)
    : agent_(agent), rt_(rt), mode_(mode), path_(std::move(socket_path)), owner_pid_(getpid()) {}

DaemonLink::~DaemonLink() {
  stop();
  disconnect();
}

bool DaemonLink::connected() const {
  return connected_.load(std::memory_order_acquire) && getpid() == owner_pid_;
}

Status DaemonLink::start() {
  std::lock_guard lock(mu_);
  if (started_ || mode_ == DaemonMode::kOff || getpid() != owner_pid_) return {};
  if (mode_ == DaemonMode::kRequired && !connected_.load()) {
    if (Status s = connect_once(); !s)
      return std::move(s).error().context("TIER_DAEMON=required: tierd at " + path_ +
                                          " is unreachable");
  }
  stop_ = false;
  try {
    thread_ = std::thread([this] { loop(); });
  } catch (const std::system_error &e) {
    return make_error(TIER_ENOMEM, std::string("tierd link thread: ") + e.what());
  }
  started_ = true;
  return {};
}

void DaemonLink::stop() {
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) return;
  stop_ = true;
  cv_.notify_all();
  std::thread t = std::move(thread_);
  lock.unlock();
  t.join();
  lock.lock();
  started_ = false;
}

Status DaemonLink::connect_once() {
  Result<int> sock = dp::connect_socket(path_);
  if (!sock) return std::move(sock).error();
  const int fd = *sock;
  auto fail = [&](Error e) {
    ::close(fd);
    return e;
  };
  const int mfd = ::memfd_create("tier-heat", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) return fail(os_error("memfd_create"));
  const size_t len = dp::shm_bytes(kClientCapacity, kClientRequests);
  void *map = MAP_FAILED;
  // Sealed against shrinking and growing: tierd maps it and must never take a SIGBUS from a
  // client that truncates the file under it.
  if (::ftruncate(mfd, static_cast<off_t>(len)) != 0 ||
      (map = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0)) == MAP_FAILED ||
      ::fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    Error e = os_error("shared table");
    if (map != MAP_FAILED) ::munmap(map, len);
    ::close(mfd);
    return fail(std::move(e));
  }
  auto *h = static_cast<dp::ShmHeader *>(map);
  h->magic = dp::kShmMagic;
  h->version = dp::kVersion;
  h->capacity = kClientCapacity;
  h->max_requests = kClientRequests;
  h->chunk_shift = agent_->table().chunk_shift();

  auto hello = dp::make_message<dp::HelloMsg>(dp::MsgType::kHello);
  hello.pid = getpid();
  hello.chunk_shift = h->chunk_shift;
  hello.capacity = kClientCapacity;
  hello.max_requests = kClientRequests;
  hello.emulated = rt_->topology.emulated ? 1 : 0;
  for (int i = 0; i < rt_->nnodes && i < dp::kMaxNodes; ++i)
    hello.nodes[hello.nnodes++] = rt_->nodes[i].node.id;
  char comm[17] = {};
  (void)::prctl(PR_GET_NAME, comm);
  dp::copy_text(hello.comm, comm);
  Status sent = dp::send_message(fd, &hello, sizeof hello, mfd);
  ::close(mfd);  // tierd has its own reference now; ours is the mapping
  if (!sent) {
    ::munmap(map, len);
    return fail(std::move(sent).error().context("hello"));
  }
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, kHelloTimeoutMs) != 1) {
    ::munmap(map, len);
    return fail(make_error(TIER_EOS, "tierd did not answer the hello"));
  }
  alignas(8) char buf[512];
  Result<size_t> n = dp::recv_message(fd, buf, sizeof buf);
  Result<dp::MsgType> t = n ? dp::check_message(buf, *n) : Result<dp::MsgType>(n.error());
  if (!t || *t != dp::MsgType::kHelloOk) {
    ::munmap(map, len);
    if (t && *t == dp::MsgType::kError) {
      dp::TextMsg m;
      std::memcpy(&m, buf, sizeof m);
      return fail(make_error(TIER_EPROTO, "tierd refused: " + dp::field_text(m.text)));
    }
    return fail(t ? make_error(TIER_EPROTO, "unexpected answer to hello") : t.error());
  }
  dp::HelloOkMsg ok;
  std::memcpy(&ok, buf, sizeof ok);
  sock_ = fd;
  shm_ = map;
  shm_len_ = len;
  capacity_ = kClientCapacity;
  max_requests_ = kClientRequests;
  sync_ms_ = std::clamp<uint32_t>(ok.epoch_ms / 2, 1, 1000);
  last_request_gen_ = 0;
  sent_.clear();
  broken_.store(false);
  connected_.store(true, std::memory_order_release);
  if (verbose()) std::fprintf(stderr, "libtier: connected to tierd at %s\n", path_.c_str());
  return {};
}

void DaemonLink::disconnect() {
  connected_.store(false, std::memory_order_release);
  if (sock_ >= 0) ::close(sock_);
  sock_ = -1;
  if (shm_) ::munmap(shm_, shm_len_);
  shm_ = nullptr;
  sent_.clear();
}

void DaemonLink::drain_incoming() {
  for (;;) {
    pollfd p{sock_, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return;
    alignas(8) char buf[512];
    Result<size_t> n = dp::recv_message(sock_, buf, sizeof buf);
    if (!n) {
      if (n.error().status == TIER_EOS) {
        broken_.store(true);
        return;
      }
      continue;  // an oversized message from tierd is dropped
    }
    Result<dp::MsgType> t = dp::check_message(buf, *n);
    if (t && *t == dp::MsgType::kError && verbose()) {
      dp::TextMsg m;
      std::memcpy(&m, buf, sizeof m);
      std::fprintf(stderr, "libtier: tierd: %s\n", dp::field_text(m.text).c_str());
    }
  }
}

void DaemonLink::loop() {
  uint32_t backoff = kMinBackoffMs;
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (!connected_.load()) {
      lock.unlock();
      struct stat st;
      bool ok = false;
      if (::stat(path_.c_str(), &st) == 0) ok = static_cast<bool>(connect_once());
      lock.lock();
      if (ok) {
        backoff = kMinBackoffMs;
        continue;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return stop_; });
      backoff = std::min(backoff * 2, kMaxBackoffMs);
      continue;
    }
    lock.unlock();
    drain_incoming();
    bool alive = !broken_.load();
    if (alive) alive = agent_->daemon_sync();
    lock.lock();
    if (!alive) {
      if (verbose()) std::fprintf(stderr, "libtier: lost tierd; the in-process agent resumes\n");
      disconnect();
      continue;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(sync_ms_), [this] { return stop_; });
  }
}

bool DaemonLink::sync_locked() {
  if (!connected_.load() || !shm_) return false;
  apply_requests();
  if (!send_region_changes()) return !broken_.load();
  publish();
  return true;
}

bool DaemonLink::send_region_changes() {
  std::map<uintptr_t, SentRegion> now;
  for (const auto &[base, r] : agent_->regions_) now[base] = SentRegion{r.length, r.id};
  auto send = [&](dp::MsgType type, uintptr_t base, const SentRegion &r) {
    auto m = dp::make_message<dp::RegionMsg>(type);
    m.region_id = r.id;
    m.base = base;
    m.length = r.length;
    m.generation = region_generation_ + 1;
    Status s = dp::send_message(sock_, &m, sizeof m, -1, /*dontwait=*/true);
    if (!s) {
      // A full socket buffer only delays the sync; anything else means tierd is gone.
      if (s.error().sys_errno != EAGAIN && s.error().sys_errno != EWOULDBLOCK) broken_.store(true);
      return false;
    }
    ++region_generation_;
    return true;
  };
  for (auto it = sent_.begin(); it != sent_.end();) {
    auto cur = now.find(it->first);
    if (cur != now.end() && cur->second == it->second) {
      ++it;
      continue;
    }
    if (!send(dp::MsgType::kRegionDel, it->first, it->second)) return false;
    it = sent_.erase(it);
  }
  for (const auto &[base, r] : now) {
    if (sent_.count(base)) continue;
    if (!send(dp::MsgType::kRegionAdd, base, r)) return false;
    sent_[base] = r;
  }
  return true;
}

void DaemonLink::apply_requests() {
  auto *h = static_cast<dp::ShmHeader *>(shm_);
  const uint32_t gen = h->request_gen.load(std::memory_order_acquire);
  if (gen == h->request_done.load(std::memory_order_relaxed)) return;
  const uint32_t count = std::min(h->request_count.load(std::memory_order_relaxed), max_requests_);
  dp::ShmRequest *reqs = dp::shm_requests(shm_);
  heat::ChunkTable &table = agent_->table();
  // Only chunks of this process's own table move, and only to nodes of its runtime: the
  // requests come from another process and are checked like any input.
  auto known_node = [&](int32_t id) {
    for (int i = 0; i < rt_->nnodes; ++i)
      if (rt_->nodes[i].node.id == id) return true;
    return false;
  };
  std::vector<migrate::MoveRange> ranges;
  std::vector<uint32_t> index;
  std::vector<heat::Chunk *> chunks;
  for (uint32_t i = 0; i < count; ++i) {
    dp::ShmRequest r;
    std::memcpy(&r, &reqs[i], sizeof r);
    heat::Chunk *c = table.find(reinterpret_cast<const void *>(r.addr));
    if (!c || c->addr != r.addr || !known_node(r.to) || r.bytes == 0 ||
        r.bytes > table.chunk_size()) {
      reqs[i].result = dp::kRequestInvalid;
      continue;
    }
    migrate::MoveRange m;
    m.addr = r.addr & ~(prim::kPageSize - 1);
    m.bytes = ((r.addr + r.bytes + prim::kPageSize - 1) & ~(prim::kPageSize - 1)) - m.addr;
    m.from = c->node.load(std::memory_order_relaxed);
    m.to = r.to;
    m.chunk = i;
    ranges.push_back(m);
    index.push_back(i);
    chunks.push_back(c);
  }
  std::vector<migrate::RangeOutcome> outcomes;
  migrate::MoveStats stats;
  if (!ranges.empty() && agent_->mover_->move(ranges, &outcomes, &stats)) {
    for (size_t k = 0; k < ranges.size(); ++k) {
      const migrate::Outcome o = outcomes[k].outcome;
      reqs[index[k]].result = static_cast<int32_t>(o);
      if (o == migrate::Outcome::kMoved || o == migrate::Outcome::kInPlace ||
          o == migrate::Outcome::kPartial) {
        chunks[k]->node.store(ranges[k].to, std::memory_order_relaxed);
        chunks[k]->last_move_epoch.store(static_cast<uint32_t>(agent_->epoch_ + 1),
                                         std::memory_order_relaxed);
      }
    }
    agent_->note_daemon_moves(stats);
  } else {
    for (uint32_t i : index) reqs[i].result = static_cast<int32_t>(migrate::Outcome::kFailed);
  }
  h->request_done.store(gen, std::memory_order_release);
}

void DaemonLink::publish() {
  auto *h = static_cast<dp::ShmHeader *>(shm_);
  std::vector<dp::ShmChunk> out;
  out.reserve(agent_->table().chunk_count());
  heat::ChunkTable &table = agent_->table();
  table.scan([&](heat::SlotId slot, heat::Chunk &c, const heat::RegionInfo &, size_t bytes) {
    dp::ShmChunk e;
    e.addr = c.addr;
    e.counts = table.counts(slot);  // the shared counter plus the threads' stripes
    e.bytes = static_cast<uint32_t>(bytes);
    e.node = c.node.load(std::memory_order_relaxed);
    e.group = c.group;
    e.flags = c.pins.load(std::memory_order_relaxed) ? dp::kChunkPinned : 0;
    out.push_back(e);
  });
  std::sort(out.begin(), out.end(),
            [](const dp::ShmChunk &a, const dp::ShmChunk &b) { return a.addr < b.addr; });
  const uint32_t n = static_cast<uint32_t>(std::min<size_t>(out.size(), capacity_));
  // Seqlock: odd while the entries change, so tierd retries instead of reading a torn table.
  const uint32_t seq = h->seq.load(std::memory_order_relaxed);
  h->seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  // No chunk (every region gone): out.data() is null, and memcpy from null is undefined.
  if (n) std::memcpy(dp::shm_chunks(shm_, max_requests_), out.data(), n * sizeof(dp::ShmChunk));
  h->count.store(n, std::memory_order_relaxed);
  h->overflow.store(out.size() > capacity_ ? 1 : 0, std::memory_order_relaxed);
  h->region_generation.store(region_generation_, std::memory_order_relaxed);
  h->seq.store(seq + 2, std::memory_order_release);
  h->publishes.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tier::client
