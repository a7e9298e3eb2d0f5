// test_pool_manager.cpp - the pool manager and host membership (issue #13) on a real file pool
// and a real coordination store: grants on demand, rebalancing when one host's demand cannot be
// met from free media, declined give-backs, a dead host fenced before its extents return (the
// other hosts' data intact), the manager role passing on, and store records that do not parse.
// The hosts answer the device as tierd's host side does (accept, move off, release), through
// the device's own commands.
#include <unistd.h>

#include <cstring>
#include <thread>

#include "../unit/test_daemon_util.hpp"
#include "pool/file_device.hpp"
#include "pool/pool_manager.hpp"
#include "pool/pool_member.hpp"
#include "store_backend.hpp"

using namespace tier;
using namespace tier::pool;
using namespace std::chrono_literals;
using tier::test::Backend;
using tier::test::must;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

struct Pool {
  explicit Pool(Backend &b, uint64_t media_mib) : backend(b) {
    keys.prefix = b.prefix + "pool/";
    dev = must(FileDevice::create(dir.path() + "/pool", media_mib * kMiB));
  }
  ManagerOptions options(uint32_t host) const {
    ManagerOptions o;
    o.host = host;
    o.keys = keys;
    o.extent_bytes = 4 * kMiB;
    o.decline_cooldown = 200ms;
    return o;
  }
  // Accepts every offer to `host` (as PoolHost does at its next step).
  void accept_all(uint32_t host) {
    auto gen = must(dev->host_generation(host));
    for (const DeviceEvent &ev : must(dev->events(host)))
      if (ev.type == DeviceEvent::Type::kAdd) must(dev->accept(host, gen, ev.extent.tag));
  }
  uint64_t held(uint32_t host) {
    uint64_t n = 0;
    for (const Extent &e : must(dev->table()).extents)
      if (e.host == host) n += e.length;
    return n;
  }
  std::vector<Extent> extents_of(uint32_t host) {
    std::vector<Extent> out;
    for (const Extent &e : must(dev->table()).extents)
      if (e.host == host) out.push_back(e);
    return out;
  }
  Backend &backend;
  tier::test::TempDir dir;
  Keys keys;
  std::unique_ptr<FileDevice> dev;
};

uint64_t fnv(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(p[i])) * 0x100000001b3ULL;
  return h;
}

void grants_on_demand(Backend &b) {
  Pool pool(b, 64);
  PoolMember a(&b.store(), pool.keys, 0, 10s);
  must(a.join(must(pool.dev->host_generation(0)), ::getpid()));
  PoolManager mgr(&b.store(), pool.dev.get(), pool.options(0));
  REQUIRE(must(mgr.acquire(a.lease())));
  must(a.publish_demand(10 * kMiB));
  ManagerStep s = must(mgr.step(std::chrono::steady_clock::now()));
  CHECK(s.manager);
  REQUIRE(s.granted.size() == 3);  // 4 + 4 + 2 MiB: one more chain
  CHECK(s.granted[0].more());
  CHECK(s.granted[1].more());
  CHECK_FALSE(s.granted[2].more());
  CHECK(pool.held(0) == 10 * kMiB);
  // Every grant is recorded as host 0's, and the next step grants nothing more.
  auto recs = must(b.store().get(pool.keys.extents(), true));
  CHECK(recs.size() == 3);
  for (const auto &kv : recs)
    CHECK(must(decode_extent(kv.key, pool.keys.extents(), kv.value)).host == 0);
  pool.accept_all(0);
  s = must(mgr.step(std::chrono::steady_clock::now()));
  CHECK(s.granted.empty());
  CHECK(s.unmet_bytes == 0);

  // A second tierd with the same host id is refused while the first is live.
  PoolMember twin(&b.store(), pool.keys, 0, 10s);
  auto dup = twin.join(1, 1);
  REQUIRE_FALSE(dup);
  CHECK(dup.status() == TIER_EBUSY);
  CHECK(dup.error().message.find("another tierd has this host id") != std::string::npos);
}

void demand_moves_and_extents_follow(Backend &b) {
  Pool pool(b, 16);
  auto store_b = b.connect();
  PoolMember a(&b.store(), pool.keys, 0, 10s), c(store_b.get(), pool.keys, 1, 10s);
  must(a.join(1, 100));
  must(c.join(1, 101));
  PoolManager mgr(&b.store(), pool.dev.get(), pool.options(0));
  REQUIRE(must(mgr.acquire(a.lease())));
  auto now = std::chrono::steady_clock::now();

  must(a.publish_demand(16 * kMiB));
  must(mgr.step(now));
  pool.accept_all(0);
  CHECK(pool.held(0) == 16 * kMiB);

  // Host 1 wants 8 MiB while host 0 still wants all: nothing to give, nothing asked.
  must(c.publish_demand(8 * kMiB));
  ManagerStep s = must(mgr.step(now));
  CHECK(s.unmet_bytes == 8 * kMiB);
  CHECK(s.asked.empty());

  // Host 0's demand falls: the manager asks it for 8 MiB, an extent at a time.
  must(a.publish_demand(8 * kMiB));
  s = must(mgr.step(now));
  REQUIRE(s.asked.size() == 2);
  CHECK(s.asked[0].length + s.asked[1].length == 8 * kMiB);
  s = must(mgr.step(now));  // asked already: not asked twice
  CHECK(s.asked.empty());
  auto gb = must(b.store().get(pool.keys.givebacks(), true));
  CHECK(gb.size() == 2);
  // Host 0 moves its data off and releases; the next step hands the media to host 1.
  auto gen = must(pool.dev->host_generation(0));
  for (const DeviceEvent &ev : must(pool.dev->events(0))) {
    REQUIRE(ev.type == DeviceEvent::Type::kRelease);
    must(pool.dev->release(0, gen, ev.extent.tag));
  }
  s = must(mgr.step(now));
  CHECK(s.granted.size() == 2);
  pool.accept_all(1);
  CHECK(pool.held(0) == 8 * kMiB);
  CHECK(pool.held(1) == 8 * kMiB);
  CHECK(must(b.store().get(pool.keys.givebacks(), true)).empty());
}

void declined_giveback(Backend &b) {
  Pool pool(b, 8);
  PoolMember a(&b.store(), pool.keys, 0, 10s), c(&b.store(), pool.keys, 1, 10s);
  must(a.join(1, 100));
  must(c.join(1, 101));
  PoolManager mgr(&b.store(), pool.dev.get(), pool.options(0));
  REQUIRE(must(mgr.acquire(a.lease())));
  auto now = std::chrono::steady_clock::now();
  must(a.publish_demand(8 * kMiB));
  must(mgr.step(now));
  pool.accept_all(0);
  must(a.publish_demand(4 * kMiB));
  must(c.publish_demand(4 * kMiB));
  ManagerStep s = must(mgr.step(now));
  REQUIRE(s.asked.size() == 1);
  const Tag tag = s.asked[0].tag;
  // Host 0 could not move its data in time: it declines on the device, with its reason.
  must(pool.dev->decline_release(0, must(pool.dev->host_generation(0)), tag));
  must(a.report_decline(tag, "8 MiB still on the pool node"));
  s = must(mgr.step(now));
  REQUIRE(s.declines.size() == 1);
  CHECK(s.declines[0] == tag.text() + ": 8 MiB still on the pool node");
  // Not asked again within the cooldown: the manager asks for the host's other extent.
  REQUIRE(s.asked.size() == 1);
  CHECK_FALSE(s.asked[0].tag == tag);
  auto rec = must(b.store().get(pool.keys.extent(tag), false));
  REQUIRE(rec.size() == 1);
  CHECK_FALSE(must(decode_extent(rec[0].key, pool.keys.extents(), rec[0].value)).releasing);
  CHECK(pool.held(0) == 8 * kMiB);  // nothing was taken from it
  auto reason = must(b.store().get(pool.keys.giveback(tag), false));
  REQUIRE(reason.size() == 1);
  CHECK(reason[0].value == "declined 8 MiB still on the pool node");
  // After the cooldown the decline is forgotten (the extent may be asked for again).
  s = must(mgr.step(now + 300ms));
  CHECK(must(b.store().get(pool.keys.giveback(tag), false)).empty());
}

void dead_host_fenced(Backend &b) {
  Pool pool(b, 16);
  auto store_b = b.connect();
  PoolMember a(&b.store(), pool.keys, 0, 10s), dying(store_b.get(), pool.keys, 1, 1s);
  must(a.join(1, 100));
  must(dying.join(1, 101));
  PoolManager mgr(&b.store(), pool.dev.get(), pool.options(0));
  REQUIRE(must(mgr.acquire(a.lease())));
  must(a.publish_demand(8 * kMiB));
  must(dying.publish_demand(8 * kMiB));
  auto now = std::chrono::steady_clock::now();
  must(mgr.step(now));
  pool.accept_all(0);
  pool.accept_all(1);
  // Both hosts write their extents; host 0's checksum is taken.
  std::vector<uint64_t> sums;
  std::vector<ExtentMapping> maps;
  for (uint32_t h : {0u, 1u})
    for (const Extent &e : pool.extents_of(h)) {
      ExtentMapping m = must(pool.dev->map(e));
      for (size_t i = 0; i < m.size(); i += 64) m.data()[i] = static_cast<char>('A' + h + i % 7);
      if (h == 0) sums.push_back(fnv(m.data(), m.size()));
      if (h == 0) maps.push_back(std::move(m));
    }
  const uint64_t gen1 = must(pool.dev->host_generation(1));
  // Host 1 is asked back an extent, then dies mid-give-back: it stops renewing its lease.
  must(a.publish_demand(12 * kMiB));
  must(mgr.step(now));
  ManagerStep s;
  for (int i = 0; i < 40; ++i) {
    must(a.renew());
    std::this_thread::sleep_for(100ms);
    s = must(mgr.step(std::chrono::steady_clock::now()));
    if (!s.fenced.empty()) break;
  }
  REQUIRE(s.fenced == std::vector<uint32_t>{1});
  CHECK(s.reclaimed_bytes == 8 * kMiB);
  CHECK(pool.held(1) == 0);
  CHECK(must(pool.dev->host_generation(1)) == gen1 + 1);
  auto fenced = must(b.store().get(pool.keys.fenced(1), false));
  REQUIRE(fenced.size() == 1);
  CHECK(fenced[0].value == "generation=" + std::to_string(gen1 + 1));
  // The zombie's late release is refused; its lease is gone.
  auto late = pool.dev->release(1, gen1, Tag{});
  REQUIRE_FALSE(late);
  CHECK(late.status() == TIER_EPERM);
  auto renew = dying.renew();
  REQUIRE_FALSE(renew);
  CHECK(renew.status() == TIER_ENODEV);
  CHECK(dying.lost());
  // Host 0's data is intact, and the freed media went to its unmet demand.
  for (size_t i = 0; i < maps.size(); ++i) CHECK(fnv(maps[i].data(), maps[i].size()) == sums[i]);
  s = must(mgr.step(std::chrono::steady_clock::now()));
  pool.accept_all(0);
  CHECK(pool.held(0) == 12 * kMiB);
}

void manager_role_moves(Backend &b) {
  Pool pool(b, 16);
  auto store_b = b.connect();
  PoolMember first(&b.store(), pool.keys, 0, 1s), second(store_b.get(), pool.keys, 1, 10s);
  must(first.join(1, 100));
  must(second.join(1, 101));
  PoolManager m0(&b.store(), pool.dev.get(), pool.options(0));
  PoolManager m1(store_b.get(), pool.dev.get(), pool.options(1));
  REQUIRE(must(m0.acquire(first.lease())));
  CHECK_FALSE(must(m1.acquire(second.lease())));
  must(second.publish_demand(4 * kMiB));
  ManagerStep s = must(m1.step(std::chrono::steady_clock::now()));
  CHECK_FALSE(s.manager);  // not the holder: changes nothing
  CHECK(s.granted.empty());
  // The holder's host dies; its lease, and with it the role, expires.
  bool took = false;
  for (int i = 0; i < 40 && !took; ++i) {
    must(second.renew());
    std::this_thread::sleep_for(100ms);
    took = must(m1.acquire(second.lease()));
  }
  REQUIRE(took);
  s = must(m1.step(std::chrono::steady_clock::now()));
  CHECK(s.manager);
  CHECK(s.granted.size() == 1);
  s = must(m0.step(std::chrono::steady_clock::now()));  // the old holder, a zombie
  CHECK_FALSE(s.manager);
}

void bad_records(Backend &b) {
  Pool pool(b, 16);
  PoolMember a(&b.store(), pool.keys, 0, 10s);
  must(a.join(1, 100));
  PoolManager mgr(&b.store(), pool.dev.get(), pool.options(0));
  REQUIRE(must(mgr.acquire(a.lease())));
  coord::Txn t;
  t.success.push_back(coord::Put{pool.keys.demand(0), "bytes=lots", 0});
  must(b.store().txn(t));
  auto s = mgr.step(std::chrono::steady_clock::now());
  REQUIRE_FALSE(s);
  CHECK(s.status() == TIER_EPROTO);
  CHECK(s.error().message ==
        "coordination store key " + pool.keys.demand(0) + ": `bytes=lots` is not a number");
  CHECK(must(pool.dev->table()).extents.empty());  // nothing granted on a record not understood
}

}  // namespace

STORE_CASE("the manager grants on demand as one more chain", grants_on_demand)
STORE_CASE("demand moves from host to host and extents follow", demand_moves_and_extents_follow)
STORE_CASE("a declined give-back keeps the extent and is asked again later", declined_giveback)
STORE_CASE("a host dead mid-give-back is fenced before its extents return", dead_host_fenced)
STORE_CASE("the manager role passes on when its holder's lease expires", manager_role_moves)
STORE_CASE("store records that do not parse are refused by name", bad_records)
