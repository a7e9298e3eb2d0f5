// tierd's checks on untrusted input: message framing, hello, regions, table entries, the
// sealed memfd, and the heat tierd derives from published counters.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "client/daemon_protocol.hpp"
#include "client_state.hpp"

namespace dp = tier::daemon_proto;
using tier::daemon::ClientState;
using tier::daemon::RegionMap;

TEST_CASE("check_message: framing", "[daemon]") {
  auto hello = dp::make_message<dp::HelloMsg>(dp::MsgType::kHello);
  REQUIRE(dp::check_message(&hello, sizeof hello));
  CHECK(*dp::check_message(&hello, sizeof hello) == dp::MsgType::kHello);

  CHECK(dp::check_message(&hello, 3).status() == TIER_EPROTO);  // shorter than a header
  CHECK(!dp::check_message(&hello, sizeof hello - 1));          // length field differs
  auto bad = hello;
  bad.h.magic = 0;
  CHECK(!dp::check_message(&bad, sizeof bad));
  bad = hello;
  bad.h.version = 2;
  CHECK(dp::check_message(&bad, sizeof bad).error().message.find("version 2") != std::string::npos);
  bad = hello;
  bad.h.type = 999;
  CHECK(!dp::check_message(&bad, sizeof bad));
  // A known type with the wrong size (a region message padded to a hello's size).
  bad = hello;
  bad.h.type = static_cast<uint16_t>(dp::MsgType::kRegionAdd);
  CHECK(!dp::check_message(&bad, sizeof bad));
}

TEST_CASE("check_message: clients reply count must match its length", "[daemon]") {
  std::vector<char> buf(dp::clients_reply_size(2));
  auto *r = reinterpret_cast<dp::ClientsReply *>(buf.data());
  r->h = dp::make_message<dp::HelloOkMsg>(dp::MsgType::kClientsReply).h;
  r->h.length = static_cast<uint32_t>(buf.size());
  r->count = 2;
  CHECK(dp::check_message(buf.data(), buf.size()));
  r->count = 3;
  CHECK(!dp::check_message(buf.data(), buf.size()));
  r->count = 0xFFFFFFFF;
  CHECK(!dp::check_message(buf.data(), buf.size()));
}

TEST_CASE("check_hello", "[daemon]") {
  auto m = dp::make_message<dp::HelloMsg>(dp::MsgType::kHello);
  m.pid = 42;
  m.chunk_shift = 21;
  m.capacity = 1024;
  m.max_requests = 16;
  m.nnodes = 2;
  CHECK(dp::check_hello(m, 42));
  CHECK(dp::check_hello(m, 43).error().message.find("claims pid 42") != std::string::npos);
  auto b = m;
  b.capacity = dp::kMaxCapacity + 1;
  CHECK(!dp::check_hello(b, 42));
  b = m;
  b.capacity = 0;
  CHECK(!dp::check_hello(b, 42));
  b = m;
  b.chunk_shift = 40;
  CHECK(!dp::check_hello(b, 42));
  b = m;
  b.nnodes = dp::kMaxNodes + 1;
  CHECK(!dp::check_hello(b, 42));
  b = m;
  b.max_requests = dp::kMaxRequests + 1;
  CHECK(!dp::check_hello(b, 42));
}

TEST_CASE("regions: overlap, wrap, unknown ids", "[daemon]") {
  ClientState c;
  auto msg = [](uint32_t id, uint64_t base, uint64_t len) {
    auto m = dp::make_message<dp::RegionMsg>(dp::MsgType::kRegionAdd);
    m.region_id = id, m.base = base, m.length = len, m.generation = id;
    return m;
  };
  REQUIRE(tier::daemon::add_region(&c, msg(1, 1 << 30, 4 << 20)));
  CHECK(!tier::daemon::add_region(&c, msg(2, (1 << 30) + (2 << 20), 4 << 20)));  // overlap
  CHECK(!tier::daemon::add_region(&c, msg(3, (1 << 30) - (1 << 20), 2 << 20)));  // overlap
  CHECK(!tier::daemon::add_region(&c, msg(1, 2ull << 30, 4 << 20)));             // id taken
  CHECK(!tier::daemon::add_region(&c, msg(4, ~0ull - 5, 10)));                   // wraps
  CHECK(!tier::daemon::add_region(&c, msg(5, 1ull << 47, 10)));                  // kernel half
  CHECK(!tier::daemon::add_region(&c, msg(6, 4ull << 30, 0)));                   // empty
  CHECK(tier::daemon::add_region(&c, msg(7, (1 << 30) + (4 << 20), 2 << 20)));   // adjacent
  CHECK(c.region_generation == 7);
  CHECK(!tier::daemon::remove_region(&c, msg(99, 0, 0)));
  CHECK(tier::daemon::remove_region(&c, msg(1, 0, 0)));
  CHECK(c.regions.size() == 1);
}

TEST_CASE("check_entries", "[daemon]") {
  RegionMap regions;
  regions[1ull << 30] = {8ull << 20, 1};
  const std::vector<int32_t> nodes = {0, 1};
  const uint64_t b = 1ull << 30, mb2 = 2u << 20;
  auto e = [](uint64_t addr, uint32_t bytes, int32_t node, uint32_t group = 0) {
    return dp::ShmChunk{addr, 0, bytes, node, group, 0};
  };
  std::vector<dp::ShmChunk> ok = {e(b, mb2, 0, 5), e(b + mb2, mb2, 1, 5), e(b + 2 * mb2, mb2, -1)};
  CHECK(tier::daemon::check_entries(ok.data(), 3, regions, 21, nodes));

  auto fails = [&](std::vector<dp::ShmChunk> v, const char *why) {
    tier::Status s =
        tier::daemon::check_entries(v.data(), static_cast<uint32_t>(v.size()), regions, 21, nodes);
    INFO(why);
    REQUIRE(!s);
    CHECK(s.error().message.find(why) != std::string::npos);
  };
  fails({e(b + 8 * mb2, mb2, 0)}, "outside the client's registered regions");
  fails({e(b + 4 * mb2 - 4096, mb2, 0)}, "crosses a chunk boundary");
  fails({e(b, 0, 0)}, "0 bytes");
  fails({e(b, 4 * mb2, 0)}, "bytes");
  fails({e(b + mb2, mb2, 0), e(b, mb2, 0)}, "not sorted");
  fails({e(b, mb2, 7)}, "unknown node 7");
  fails({e(b, mb2, 0, 1), e(b + mb2, mb2, 0, 2), e(b + 2 * mb2, mb2, 0, 1)}, "not contiguous");
  auto flagged = e(b, mb2, 0);
  flagged.flags = 0x80;
  fails({flagged}, "unknown flags");
}

namespace {

// A sealed table as a client makes it, mapped in this process too.
struct LocalTable {
  LocalTable(uint32_t capacity, uint32_t requests, bool seal = true) {
    fd = ::memfd_create("unit-table", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    len = dp::shm_bytes(capacity, requests);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(len)) == 0);
    map = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    auto *h = static_cast<dp::ShmHeader *>(map);
    h->magic = dp::kShmMagic, h->version = dp::kVersion, h->capacity = capacity;
    h->max_requests = requests, h->chunk_shift = 21;
    if (seal) ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
  }
  ~LocalTable() { ::munmap(map, len); }
  int fd;
  size_t len;
  void *map;
};

}  // namespace

TEST_CASE("attach_table needs a sealed memfd of the announced size", "[daemon]") {
  ClientState c;
  c.capacity = 64, c.max_requests = 16, c.chunk_shift = 21;
  {
    LocalTable t(64, 16, /*seal=*/false);
    CHECK(tier::daemon::attach_table(&c, t.fd).error().message.find("not sealed") !=
          std::string::npos);
  }
  {
    LocalTable t(128, 16);
    CHECK(tier::daemon::attach_table(&c, t.fd).error().message.find("the hello implies") !=
          std::string::npos);
  }
  LocalTable t(64, 16);
  REQUIRE(tier::daemon::attach_table(&c, t.fd));
  CHECK(c.shm != nullptr);
}

TEST_CASE("read_table: deltas, heat, refusals and the seqlock", "[daemon]") {
  ClientState c;
  c.capacity = 64, c.max_requests = 16, c.chunk_shift = 21;
  LocalTable t(64, 16);
  REQUIRE(tier::daemon::attach_table(&c, t.fd));
  auto msg = dp::make_message<dp::RegionMsg>(dp::MsgType::kRegionAdd);
  msg.region_id = 1, msg.base = 1ull << 30, msg.length = 4ull << 20, msg.generation = 1;
  REQUIRE(tier::daemon::add_region(&c, msg));
  auto *h = static_cast<dp::ShmHeader *>(t.map);
  dp::ShmChunk *entries = dp::shm_chunks(t.map, 16);
  entries[0] = {1ull << 30, 100, 2u << 20, 0, 0, 0};
  entries[1] = {(1ull << 30) + (2u << 20), 0, 2u << 20, 1, 0, dp::kChunkPinned};
  h->count = 2;
  h->region_generation = 1;
  const std::vector<int32_t> nodes = {0, 1};
  std::string why;
  // The engine's heat rule at half-life 1 (each epoch halves the heat).
  tier::heat::HeatClock clock(tier::heat::TemperatureConfig{1.0});
  auto read = [&](uint64_t epoch) {
    clock.begin(epoch);
    return tier::daemon::read_table(&c, epoch, clock, nodes, &why);
  };
  REQUIRE(read(1) == tier::daemon::TableRead::kUpdated);
  REQUIRE(c.chunks.size() == 2);
  CHECK(c.chunks[0].accesses == 0);  // first sight: its history before tierd is not a burst
  CHECK(c.chunks[1].pinned);
  // 50 reads and 7 writes later.
  entries[0].counts = 150 + (7ull << 32);
  REQUIRE(read(2) == tier::daemon::TableRead::kUpdated);
  CHECK(c.chunks[0].accesses == 57);
  CHECK(c.chunks[0].temperature == Approx(57));
  CHECK(c.chunks[0].history == 1);
  // A reads counter that wraps carries into the writes half: still 10 reads.
  entries[0].counts = (uint64_t{8} << 32) | 9u;  // reads 150 -> 2^32+9 wraps; writes 7 -> 8
  REQUIRE(read(3) == tier::daemon::TableRead::kUpdated);
  CHECK(c.chunks[0].accesses == (0xFFFFFFFFu - 150 + 1) + 9);

  // Mid-write (odd sequence): nothing changes.
  h->seq = 1;
  CHECK(read(4) == tier::daemon::TableRead::kUnchanged);
  h->seq = 2;
  // Published before its region message arrived: waits.
  h->region_generation = 5;
  CHECK(read(5) == tier::daemon::TableRead::kUnchanged);
  h->region_generation = 1;
  // A count beyond capacity is refused, and the client's chunks are dropped.
  h->count = 1000;
  CHECK(read(6) == tier::daemon::TableRead::kRefused);
  CHECK(why.find("exceeds its capacity") != std::string::npos);
  CHECK(c.chunks.empty());
}
