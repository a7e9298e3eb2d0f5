// tierd's global epoch (daemon/placement.hpp) on clients simulated as shared tables in this
// process: one plan across clients, quotas, priorities, and a refused table that affects no
// other client. The "clients" apply each request batch the way libtier's link does: the chunk
// takes its new node and the batch is acknowledged.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>

#include "client_state.hpp"
#include "placement.hpp"

namespace dp = tier::daemon_proto;
using tier::daemon::ClientState;

namespace {

constexpr uint64_t kChunk = 2u << 20;
constexpr uint64_t kBase = 1ull << 32;

tier::Topology two_tier(uint64_t fast_chunks) {
  tier::Topology t;
  t.emulated = true;
  t.source = "unit";
  tier::Node hbm, dram;
  hbm.id = 1, hbm.name = "hbm0", hbm.kind = TIER_KIND_HBM, hbm.tier = 0;
  hbm.capacity = fast_chunks * kChunk;
  dram.id = 0, dram.name = "dram0", dram.kind = TIER_KIND_DRAM, dram.tier = 1;
  dram.capacity = 1ull << 34;
  t.nodes = {hbm, dram};
  return t;
}

struct SimClient {
  explicit SimClient(uint32_t id, uint32_t chunks) {
    state.id = id, state.pid = 100 + id, state.emulated = true;
    state.capacity = 64, state.max_requests = 64, state.chunk_shift = 21;
    const int fd = ::memfd_create("unit-placement", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    const size_t len = dp::shm_bytes(64, 64);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(len)) == 0);
    void *m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    auto *h = static_cast<dp::ShmHeader *>(m);
    h->magic = dp::kShmMagic, h->version = dp::kVersion, h->capacity = 64;
    h->max_requests = 64, h->chunk_shift = 21;
    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    ::munmap(m, len);
    REQUIRE(tier::daemon::attach_table(&state, fd));
    auto msg = dp::make_message<dp::RegionMsg>(dp::MsgType::kRegionAdd);
    msg.region_id = 1, msg.base = kBase, msg.length = chunks * kChunk, msg.generation = 1;
    REQUIRE(tier::daemon::add_region(&state, msg));
    for (uint32_t i = 0; i < chunks; ++i) entries()[i] = {kBase + i * kChunk, 0, kChunk, 0, 0, 0};
    header()->count = chunks;
    header()->region_generation = 1;
  }
  dp::ShmHeader *header() { return static_cast<dp::ShmHeader *>(state.shm); }
  dp::ShmChunk *entries() { return dp::shm_chunks(state.shm, 64); }
  void touch(uint32_t chunk, uint32_t n) { entries()[chunk].counts += n; }
  void apply() {
    dp::ShmHeader *h = header();
    if (h->request_gen == h->request_done) return;
    const dp::ShmRequest *r = dp::shm_requests(state.shm);
    for (uint32_t q = 0; q < h->request_count; ++q)
      entries()[(r[q].addr - kBase) / kChunk].node = r[q].to;
    h->request_done = h->request_gen.load();
  }
  int on_fast(uint32_t first, uint32_t count) {
    int n = 0;
    for (uint32_t i = first; i < first + count; ++i) n += entries()[i].node == 1;
    return n;
  }
  ClientState state;
};

std::unique_ptr<tier::daemon::Placement> placement(uint64_t fast_chunks, std::string *log) {
  tier::daemon::DaemonOptions o;
  auto p = tier::daemon::Placement::create(
      o, two_tier(fast_chunks), [log](const char *, const std::string &t) { *log += t + "\n"; });
  REQUIRE(p);
  return std::move(*p);
}

void run(tier::daemon::Placement &p, std::vector<SimClient *> cs, int epochs,
         const std::function<void(SimClient *)> &touch) {
  std::vector<ClientState *> raw;
  for (SimClient *c : cs) raw.push_back(&c->state);
  for (int e = 0; e < epochs; ++e) {
    for (SimClient *c : cs) {
      touch(c);
      c->apply();
    }
    p.run_epoch(raw);
  }
  for (SimClient *c : cs) c->apply();
}

}  // namespace

TEST_CASE("one plan across clients puts every client's hot chunks on the fast tier", "[daemon]") {
  std::string log;
  auto p = placement(8, &log);
  SimClient a(1, 8), b(2, 8);
  run(*p, {&a, &b}, 12, [](SimClient *c) {
    c->touch(c->state.id == 1 ? 0 : 4, 500);
    c->touch(c->state.id == 1 ? 1 : 5, 500);
  });
  CHECK(a.on_fast(0, 2) == 2);
  CHECK(b.on_fast(4, 2) == 2);
  CHECK(p->moves_total >= 4);
}

TEST_CASE("a fast-tier quota caps a client's promotions", "[daemon]") {
  std::string log;
  auto p = placement(8, &log);
  SimClient a(1, 8), b(2, 8);
  a.state.quota_bytes = kChunk;  // one chunk
  run(*p, {&a, &b}, 12, [](SimClient *c) {
    for (uint32_t i = 0; i < 3; ++i) c->touch(i, 500);
  });
  CHECK(a.on_fast(0, 8) == 1);
  CHECK(b.on_fast(0, 3) == 3);
}

TEST_CASE("priority decides who gets a scarce fast tier", "[daemon]") {
  std::string log;
  auto p = placement(3, &log);  // room for three of the four hot chunks
  SimClient low(1, 4), high(2, 4);
  high.state.priority = 200;  // heat counts 4x
  run(*p, {&low, &high}, 16, [](SimClient *c) {
    c->touch(0, 100);
    c->touch(1, 100);
  });
  CHECK(high.on_fast(0, 2) == 2);
  CHECK(low.on_fast(0, 2) <= 1);  // what is left, if the policy keeps no headroom
}

TEST_CASE("a refused table affects no other client", "[daemon]") {
  std::string log;
  auto p = placement(8, &log);
  SimClient good(1, 4), bad(2, 4);
  // bad: group 7, then 8, then 7 again: a group that is not contiguous would break the
  // snapshot for everyone if it got through.
  bad.entries()[0].group = 7, bad.entries()[1].group = 8, bad.entries()[2].group = 7;
  run(*p, {&good, &bad}, 8, [](SimClient *c) { c->touch(0, 500); });
  CHECK(good.on_fast(0, 1) == 1);
  CHECK(bad.on_fast(0, 4) == 0);
  CHECK(bad.state.refusals > 0);
  CHECK(good.state.refusals == 0);
  CHECK(log.find("group 7 is not contiguous") != std::string::npos);
  // Logged once, not every epoch.
  CHECK(log.find("group 7 is not contiguous") == log.rfind("group 7 is not contiguous"));
}

TEST_CASE("status reports as hot only the hottest bytes that fit the fast tiers", "[daemon]") {
  // Every chunk is touched every epoch, but two of them far more often: "accessed lately" would
  // call all eight hot; the hot set sized to the 4-chunk fast tier holds the two busy ones and
  // at most the boundary bucket's worth more, never the whole client.
  std::string log;
  auto p = placement(4, &log);
  SimClient a(1, 8);
  run(*p, {&a}, 12, [](SimClient *c) {
    for (uint32_t i = 0; i < 8; ++i) c->touch(i, i < 2 ? 1000 : 10);
  });
  dp::StatusReply status{};
  p->fill_status(&status, {&a.state});
  REQUIRE(status.nnodes == 2);
  uint64_t used = 0, hot = 0;
  for (uint32_t i = 0; i < status.nnodes; ++i)
    used += status.nodes[i].used, hot += status.nodes[i].hot;
  CHECK(used == 8 * kChunk);
  CHECK(hot == 2 * kChunk);
  // When all the heat fits the fast tier, exactly the chunks with any heat are hot.
  SimClient idle(2, 8);
  run(*p, {&idle}, 2, [](SimClient *c) { c->touch(0, 5); });
  p->fill_status(&status, {&idle.state});
  hot = 0;
  for (uint32_t i = 0; i < status.nnodes; ++i) hot += status.nodes[i].hot;
  CHECK(hot == kChunk);
}
