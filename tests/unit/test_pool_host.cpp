// test_pool_host.cpp - a host's side of the pool (issue #13) against a real file pool and
// tierd's real placement, on clients simulated as shared tables in this process (as
// test_daemon_placement.cpp does): accepted extents become the pool node's capacity, a give-back
// moves the node's chunks off before the extent is released, one that cannot is declined with a
// reason, and a fenced host drops its pool capacity.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>

#include "client_state.hpp"
#include "placement.hpp"
#include "pool/file_device.hpp"
#include "pool/pool_host.hpp"
#include "test_daemon_util.hpp"

namespace dp = tier::daemon_proto;
using namespace tier::pool;
using tier::daemon::ClientState;
using tier::test::TempDir;

namespace {

constexpr uint64_t kChunk = 2u << 20;
constexpr uint64_t kBase = 1ull << 32;
constexpr int32_t kDram = 0, kPool = 4;

tier::Topology dram_and_pool(uint64_t dram_chunks) {
  tier::Topology t;
  t.emulated = true;
  t.source = "unit";
  tier::Node dram, pool;
  dram.id = kDram, dram.name = "dram0", dram.kind = TIER_KIND_DRAM, dram.tier = 0;
  dram.capacity = dram_chunks * kChunk;
  pool.id = kPool, pool.name = "pool0", pool.kind = TIER_KIND_CXL_POOL, pool.tier = 1;
  pool.capacity = 0;  // the extents the host holds
  t.nodes = {dram, pool};
  return t;
}

struct SimClient {
  explicit SimClient(uint32_t chunks) {
    state.id = 1, state.pid = 101, state.emulated = true;
    state.capacity = 64, state.max_requests = 64, state.chunk_shift = 21;
    const int fd = ::memfd_create("unit-pool-host", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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
  // As libtier's link does: each request's chunk takes its new node, the batch is acknowledged.
  void apply() {
    dp::ShmHeader *h = header();
    if (h->request_gen == h->request_done) return;
    const dp::ShmRequest *r = dp::shm_requests(state.shm);
    for (uint32_t q = 0; q < h->request_count; ++q) {
      entries()[(r[q].addr - kBase) / kChunk].node = r[q].to;
      dp::shm_requests(state.shm)[q].result = 0;
    }
    h->request_done = h->request_gen.load();
  }
  int on(int32_t node) {
    int n = 0;
    for (uint32_t i = 0; i < header()->count; ++i) n += entries()[i].node == node;
    return n;
  }
  ClientState state;
};

struct Rig {
  explicit Rig(uint64_t dram_chunks, uint32_t client_chunks) : client(client_chunks) {
    auto d = FileDevice::create(dir.path() + "/pool", 64 * kChunk);
    REQUIRE(d);
    dev = std::move(*d);
    tier::daemon::DaemonOptions o;
    o.policy = "first-touch";  // the policy moves nothing: only the pool's own moves happen
    auto p = tier::daemon::Placement::create(
        o, dram_and_pool(dram_chunks),
        [this](const char *, const std::string &t) { log += t + "\n"; });
    REQUIRE(p);
    placement = std::move(*p);
    clients = {&client.state};
    HostTier tier;
    tier.used = [this] {
      for (const auto &u : placement->node_usage(clients))
        if (u.id == kPool) return u.used;
      return uint64_t{0};
    };
    tier.set_capacity = [this](uint64_t b) { REQUIRE(placement->set_node_capacity(kPool, b)); };
    tier.evacuate = [this](uint64_t b) { return placement->evacuate(clients, kPool, b); };
    host = std::make_unique<PoolHost>(dev.get(), 2, std::chrono::milliseconds(1000), tier);
    REQUIRE(host->start());
  }
  uint64_t pool_capacity() const { return placement->topology().find(kPool)->capacity; }
  // One epoch of tierd: the clients apply their batches, the epoch reads their tables, then
  // the pool host steps.
  HostStep epoch(std::chrono::steady_clock::time_point now) {
    client.apply();
    placement->run_epoch(clients);
    auto s = host->step(now);
    REQUIRE(s);
    return *s;
  }
  TempDir dir;
  std::unique_ptr<FileDevice> dev;
  std::unique_ptr<tier::daemon::Placement> placement;
  SimClient client;
  std::vector<ClientState *> clients;
  std::unique_ptr<PoolHost> host;
  std::string log;
};

Extent at(uint64_t chunk, uint64_t chunks, uint8_t tag) {
  Extent e;
  e.offset = chunk * kChunk;
  e.length = chunks * kChunk;
  e.tag.bytes.fill(tag);
  return e;
}

}  // namespace

TEST_CASE("accepted extents are the pool node's capacity; a give-back moves data off first",
          "[pool]") {
  Rig rig(16, 8);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(rig.pool_capacity() == 0);
  REQUIRE(rig.dev->add_extents(2, {at(0, 2, 1), at(10, 2, 2)}));
  HostStep s = rig.epoch(t0);
  CHECK(s.accepted.size() == 2);
  CHECK(rig.pool_capacity() == 4 * kChunk);

  // Four of the client's chunks go to the pool node (as a demotion would put them).
  REQUIRE(rig.placement->migrate(&rig.client.state, kBase, kBase + 4 * kChunk, kPool));
  rig.epoch(t0);
  rig.epoch(t0);
  REQUIRE(rig.client.on(kPool) == 4);

  // The manager asks for one extent back: the plans lose it at once, two chunks move off,
  // and only then is it released.
  REQUIRE(rig.dev->request_release(at(0, 2, 1).tag));
  s = rig.epoch(t0);
  CHECK(rig.pool_capacity() == 2 * kChunk);
  CHECK(s.released.empty());
  CHECK(s.bytes_evacuating == 2 * kChunk);
  auto table = rig.dev->table();
  REQUIRE(table);
  CHECK(table->extents.size() == 2);  // not released while its data is still there
  s = rig.epoch(t0);                  // the client moved them; the epoch sees it
  REQUIRE(s.released.size() == 1);
  CHECK(s.released[0].tag == at(0, 2, 1).tag);
  CHECK(rig.client.on(kPool) == 2);
  CHECK(rig.client.on(kDram) == 6);
  table = rig.dev->table();
  REQUIRE(table);
  REQUIRE(table->extents.size() == 1);
  CHECK(rig.host->gave_back_total() == 1);
}

TEST_CASE("a give-back that cannot move its data in time is declined, nothing dropped", "[pool]") {
  Rig rig(4, 8);  // DRAM has room for 4 chunks only
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(rig.dev->add_extents(2, {at(0, 4, 1)}));
  rig.epoch(t0);
  REQUIRE(rig.placement->migrate(&rig.client.state, kBase, kBase + 4 * kChunk, kPool));
  rig.epoch(t0);
  rig.epoch(t0);
  REQUIRE(rig.client.on(kPool) == 4);
  REQUIRE(rig.client.on(kDram) == 4);  // DRAM full

  REQUIRE(rig.dev->request_release(at(0, 4, 1).tag));
  HostStep s = rig.epoch(t0);
  CHECK(s.bytes_evacuating == 0);
  CHECK(s.declined.empty());
  s = rig.epoch(t0 + std::chrono::milliseconds(1500));
  REQUIRE(s.declined.size() == 1);
  CHECK(rig.host->last_decline().find("declined after 1500 ms: 8 MiB still on the pool node, 0 B "
                                      "would remain; 0 B handed to movers meanwhile") !=
        std::string::npos);
  // The extent is the host's again, with its data; the plans may fill it again.
  auto table = rig.dev->table();
  REQUIRE(table);
  REQUIRE(table->extents.size() == 1);
  CHECK(table->extents[0].state == ExtentState::kAccepted);
  CHECK(rig.pool_capacity() == 4 * kChunk);
  CHECK(rig.client.on(kPool) == 4);
}

TEST_CASE("a fenced host holds no pool capacity until it rejoins", "[pool]") {
  Rig rig(16, 4);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(rig.dev->add_extents(2, {at(0, 2, 1)}));
  rig.epoch(t0);
  CHECK(rig.pool_capacity() == 2 * kChunk);
  REQUIRE(rig.dev->fence_host(2));
  auto s = rig.host->step(t0);
  REQUIRE_FALSE(s);
  CHECK(s.status() == TIER_EPERM);
  CHECK(rig.host->fenced());
  CHECK(rig.pool_capacity() == 0);
  REQUIRE(rig.host->rejoin());
  CHECK_FALSE(rig.host->fenced());
  REQUIRE(rig.dev->add_extents(2, {at(4, 2, 3)}));
  rig.epoch(t0);
  CHECK(rig.pool_capacity() == 2 * kChunk);
}

TEST_CASE("a restarted host adopts the extents the device says it holds", "[pool]") {
  Rig rig(16, 4);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(rig.dev->add_extents(2, {at(0, 2, 1), at(2, 2, 2)}));
  rig.epoch(t0);
  PoolHost again(
      rig.dev.get(), 2, std::chrono::milliseconds(100),
      {[] { return uint64_t{0}; }, [](uint64_t) {}, [](uint64_t) { return uint64_t{0}; }});
  REQUIRE(again.start());
  CHECK(again.held_bytes() == 4 * kChunk);
}
