// tierd_bench - two figures for docs/benchmarks.md "Daemon":
//
//  epoch   tierd's CPU time for one global epoch (copy + check every client's table, heat,
//          one plan over all chunks, request batches) with N chunks over C clients. The
//          clients are shared tables in this process whose counters a Zipf-like hot set
//          advances each epoch; they acknowledge batches at once, as a live client would at
//          its next sync. Uses the very Placement code tierd runs.
//  shift   a real tierd and 4 real client processes (tests/integration/daemon-two-tier.toml):
//          wall time from rewriting every client's hot set until all new hot blocks are on the
//          fast tier, per shift, at a given epoch length.
//
//   tierd_bench epoch [--clients 100] [--chunks 1000000] [--epochs 20]
//   tierd_bench shift [--epoch-ms 100] [--shifts 5]
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client/daemon_protocol.hpp"
#include "client_state.hpp"
#include "daemon_harness.hpp"
#include "placement.hpp"

namespace dp = tier::daemon_proto;
using tier::daemon::ClientState;

namespace {

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

tier::Topology two_tier(uint64_t fast, uint64_t slow) {
  tier::Topology t;
  t.emulated = true;
  t.source = "bench";
  tier::Node hbm;
  hbm.id = 1, hbm.name = "hbm0", hbm.kind = TIER_KIND_HBM, hbm.tier = 0, hbm.capacity = fast;
  tier::Node dram;
  dram.id = 0, dram.name = "dram0", dram.kind = TIER_KIND_DRAM, dram.tier = 1;
  dram.capacity = slow;
  t.nodes = {hbm, dram};
  return t;
}

int bench_epoch(int nclients, uint64_t nchunks, int epochs) {
  const uint64_t per = nchunks / nclients;
  const uint64_t chunk = 2u << 20;
  tier::daemon::DaemonOptions o;
  o.budget_bytes_per_epoch = 1ull << 30;  // 512 chunks a epoch
  auto p = tier::daemon::Placement::create(
      o, two_tier(nchunks * chunk / 10, nchunks * chunk * 2),
      [](const char *, const std::string &t) { std::fprintf(stderr, "%s\n", t.c_str()); });
  if (!p) {
    std::fprintf(stderr, "placement: %s\n", p.error().message.c_str());
    return 1;
  }
  std::vector<std::unique_ptr<ClientState>> clients;
  std::vector<ClientState *> raw;
  for (int c = 0; c < nclients; ++c) {
    auto cs = std::make_unique<ClientState>();
    cs->id = c + 1, cs->pid = 1000 + c, cs->emulated = true;
    cs->capacity = static_cast<uint32_t>(per), cs->max_requests = 4096, cs->chunk_shift = 21;
    const int fd = ::memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    const size_t len = dp::shm_bytes(cs->capacity, cs->max_requests);
    if (::ftruncate(fd, static_cast<off_t>(len)) != 0) return 1;
    void *m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    auto *h = static_cast<dp::ShmHeader *>(m);
    h->magic = dp::kShmMagic, h->version = dp::kVersion, h->capacity = cs->capacity;
    h->max_requests = cs->max_requests, h->chunk_shift = 21;
    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    ::munmap(m, len);
    if (!tier::daemon::attach_table(cs.get(), fd)) return 1;
    const uint64_t base = 1ull << 32;
    auto msg = dp::make_message<dp::RegionMsg>(dp::MsgType::kRegionAdd);
    msg.region_id = 1, msg.base = base, msg.length = per * chunk, msg.generation = 1;
    if (!tier::daemon::add_region(cs.get(), msg)) return 1;
    dp::ShmChunk *e = dp::shm_chunks(cs->shm, cs->max_requests);
    for (uint64_t i = 0; i < per; ++i) e[i] = {base + i * chunk, 0, uint32_t(chunk), 0, 0, 0};
    auto *sh = static_cast<dp::ShmHeader *>(cs->shm);
    sh->count = static_cast<uint32_t>(per);
    sh->region_generation = 1;
    raw.push_back(cs.get());
    clients.push_back(std::move(cs));
  }
  std::mt19937_64 rng(42);
  std::vector<double> cpu;
  for (int ep = 0; ep < epochs; ++ep) {
    // Counters: ~10% of each client's chunks hot (a moving window), Zipf-ish counts.
    for (ClientState *c : raw) {
      dp::ShmChunk *e = dp::shm_chunks(c->shm, c->max_requests);
      const uint64_t start = (ep / 5) * (per / 20);
      for (uint64_t k = 0; k < per / 10; ++k) {
        const uint64_t i = (start + k) % per;
        e[i].counts += 1 + 1000 / (k + 1);
      }
      // The client applies the last batch: entries take their new node, batch acknowledged.
      auto *h = static_cast<dp::ShmHeader *>(c->shm);
      const uint32_t n = h->request_count;
      const dp::ShmRequest *r = dp::shm_requests(c->shm);
      if (h->request_gen != h->request_done) {
        for (uint32_t q = 0; q < n; ++q) {
          const uint64_t idx = (r[q].addr - (1ull << 32)) / chunk;
          if (idx < per) e[idx].node = r[q].to;
        }
        h->request_done = h->request_gen.load();
      }
    }
    const double t0 = thread_cpu_s();
    const tier::daemon::EpochSummary s = (*p)->run_epoch(raw);
    const double dt = thread_cpu_s() - t0;
    cpu.push_back(dt);
    std::printf("epoch %2d: %.1f ms CPU (plan %.1f ms), %llu chunks, %llu moves\n", ep + 1,
                dt * 1e3, s.plan_ns / 1e6, static_cast<unsigned long long>(s.chunks),
                static_cast<unsigned long long>(s.moves_issued));
  }
  std::vector<double> steady(cpu.begin() + 1, cpu.end());  // the first epoch maps every table
  std::sort(steady.begin(), steady.end());
  std::printf("clients %d, chunks %llu: epoch CPU median %.1f ms, max %.1f ms, first %.1f ms\n",
              nclients, static_cast<unsigned long long>(nchunks), steady[steady.size() / 2] * 1e3,
              steady.back() * 1e3, cpu.front() * 1e3);
  return 0;
}

int bench_shift(int epoch_ms, int shifts) {
  ::setenv("TIERD_BIN", TIERD_PATH, 1);
  ::setenv("TIER_DAEMON_CLIENT_BIN", CLIENT_PATH, 1);
  ::setenv("TIER_DAEMON_TOPOLOGY", TOPOLOGY_PATH, 1);
  using namespace tier::test;
  TempDir dir;
  Tierd tierd(dir, {"--epoch-ms", std::to_string(epoch_ms)});
  // The harness starts tierd with --epoch-ms 50 unless told otherwise, as here.
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < 4; ++i)
    cs.push_back(std::make_unique<Client>(dir, "c" + std::to_string(i), tierd.socket, 8, 2));
  for (auto &c : cs)
    if (!eventually([&] { return c->converged(0); }, 60)) {
      std::fprintf(stderr, "initial convergence failed\n");
      return 1;
    }
  std::vector<double> ms;
  for (int s = 1; s <= shifts; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    for (auto &c : cs) write_text(c->phase_file, std::to_string(s % 4) + "\n");
    const bool ok = eventually(
        [&] {
          for (auto &c : cs)
            if (!c->converged(s % 4)) return false;
          return true;
        },
        60);
    const double dt =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("shift %d: %s after %.0f ms\n", s, ok ? "on the fast tier" : "NOT converged", dt);
    ms.push_back(dt);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("epoch %d ms: hot-set shift to fast tier, median %.0f ms, max %.0f ms (%zu shifts)\n",
              epoch_ms, ms[ms.size() / 2], ms.back(), ms.size());
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto arg = [&](const char *name, long def) {
    for (int i = 2; i + 1 < argc; ++i)
      if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
    return def;
  };
  if (mode == "epoch")
    return bench_epoch(static_cast<int>(arg("--clients", 100)),
                       static_cast<uint64_t>(arg("--chunks", 1000000)),
                       static_cast<int>(arg("--epochs", 20)));
  if (mode == "shift")
    return bench_shift(static_cast<int>(arg("--epoch-ms", 100)),
                       static_cast<int>(arg("--shifts", 5)));
  std::fprintf(stderr, "usage: tierd_bench epoch|shift [options] (see the source's banner)\n");
  return 2;
}
