// test_coord_recipes.cpp - HostLease, Election and fencing, on the embedded store and on etcd:
// the same code, the same outcomes.
#include <atomic>
#include <set>
#include <thread>

#include "coord/election.hpp"
#include "coord/etcd_store.hpp"
#include "coord/fencing.hpp"
#include "coord/host_lease.hpp"
#include "etcd_harness.hpp"
#include "store_backend.hpp"

using namespace tier;
using namespace tier::coord;
using namespace std::chrono_literals;
using tier::test::Backend;
using tier::test::must;
using Clock = std::chrono::steady_clock;

namespace {

bool has_key(Store &s, const std::string &k) {
  return !must(s.get(k, false)).empty();
}

// Polls `pred` every 20 ms for up to `limit`.
template <class F>
bool eventually(F &&pred, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// ---- HostLease ----
void host_lease_lifecycle(Backend &b) {
  Store &s = b.store();
  const std::string k = b.prefix + "hosts/a";
  auto h = must(HostLease::acquire(s, k, "host a", {1s, nullptr}));
  auto kv = must(s.get(k, false));
  REQUIRE(kv.size() == 1);
  CHECK(kv[0].value == "host a");
  CHECK(kv[0].lease == h->lease());
  CHECK(h->create_revision() == kv[0].create_revision);
  // A second incarnation cannot take the key while the first holds it.
  auto twice = HostLease::acquire(s, k, "host a again", {1s, nullptr});
  REQUIRE(twice.status() == TIER_EBUSY);
  CHECK(twice.error().message.find(std::to_string(h->lease())) != std::string::npos);
  // Held well past its TTL by the refresh thread.
  std::this_thread::sleep_for(2500ms);
  CHECK_FALSE(h->lost());
  CHECK(has_key(s, k));
  // A clean close revokes at once.
  must(h->close());
  CHECK_FALSE(has_key(s, k));
  must(h->close());  // twice is fine
  CHECK(HostLease::acquire(s, "", "x", {1s, nullptr}).status() == TIER_EINVAL);
  CHECK(HostLease::acquire(s, k, "x", {0s, nullptr}).status() == TIER_EINVAL);
}
STORE_CASE("host lease: registered, held past its TTL, exclusive, revoked on close",
           host_lease_lifecycle)

void host_lease_loss(Backend &b) {
  Store &s = b.store();
  const std::string k = b.prefix + "hosts/b";
  std::atomic<int> calls{0};
  std::atomic<int> status{0};
  auto h = must(HostLease::acquire(s, k, "b", {3s, [&](const Error &e) {
                                                 status = e.status;
                                                 ++calls;
                                               }}));
  // Someone (an operator, a manager that declared the host dead) revokes the lease.
  must(s.revoke_lease(h->lease()));
  CHECK(eventually([&] { return h->lost(); }, 3s));  // within one refresh period (1 s)
  CHECK(calls == 1);
  CHECK(status == TIER_ENODEV);
  CHECK(h->loss().message.find(k) != std::string::npos);
  CHECK_FALSE(has_key(s, k));
  must(h->close());
  CHECK(calls == 1);
}
STORE_CASE("host lease: a revoked lease is reported lost, once", host_lease_loss)

// ---- Election ----
void election(Backend &b) {
  const std::string p = b.prefix + "manager/";
  auto c1 = b.connect(), c2 = b.connect(), c3 = b.connect();
  auto h1 = must(HostLease::acquire(*c1, b.prefix + "hosts/1", "1", {2s, nullptr}));
  auto h3 = must(HostLease::acquire(*c3, b.prefix + "hosts/3", "3", {2s, nullptr}));
  // Candidate 2's host dies later: a lease nobody refreshes.
  const Lease l2 = must(c2->grant_lease(2s));
  Election e1(*c1, p), e2(*c2, p), e3(*c3, p);
  CHECK(must(e1.leader()) == std::nullopt);
  must(e1.campaign(h1->lease(), "host 1"));
  must(e2.campaign(l2.id, "host 2"));
  must(e3.campaign(h3->lease(), "host 3"));
  CHECK(e1.term() < e2.term());
  CHECK(e2.term() < e3.term());
  CHECK(must(e1.wait_leader(0ms)));
  CHECK_FALSE(must(e2.wait_leader(100ms)));
  CHECK_FALSE(must(e3.wait_leader(0ms)));
  CHECK(must(e3.leader())->value == "host 1");
  // Campaigning again updates the value, keeps the place.
  must(e1.campaign(h1->lease(), "host 1 v2"));
  CHECK(must(e2.leader())->value == "host 1 v2");

  // The leader resigns: candidate 2 (and only it) is woken and leads.
  std::atomic<int> two_leads{-1};
  std::thread waiter([&] {
    auto r = e2.wait_leader(5s);
    two_leads = r.ok() ? int(*r) : -2;
  });
  std::this_thread::sleep_for(100ms);
  must(e1.resign());
  waiter.join();
  CHECK(two_leads == 1);
  CHECK(must(e3.leader())->value == "host 2");
  CHECK_FALSE(must(e3.wait_leader(0ms)));

  // Candidate 2's host dies: its lease expires and candidate 3 leads, woken by the expiry.
  const auto t0 = Clock::now();
  CHECK(must(e3.wait_leader(8s)));
  CHECK(Clock::now() - t0 < 6s);
  CHECK(must(e1.leader())->value == "host 3");
  CHECK(e2.wait_leader(0ms).status() == TIER_ENODEV);  // its candidacy went with the lease
  CHECK(e3.term() > e2.term());
  must(e3.resign());
  CHECK(must(e1.leader()) == std::nullopt);
  CHECK(e1.wait_leader(0ms).status() == TIER_EINVAL);  // resigned: no candidacy
}
STORE_CASE("election: lowest create_revision leads; resign and lease expiry hand it on", election)

// ---- fencing ----
void fencing_generations(Backend &b) {
  Store &s = b.store();
  const std::string g = b.prefix + "gen/host-a";
  const std::string owned = b.prefix + "extents/7";
  CHECK(must(fencing::current(s, g)) == 0);
  const int64_t first = must(fencing::bump(s, g));
  CHECK(first == 1);
  Txn claim;
  claim.success.push_back(Put{owned, "host-a gen 1", 0});
  CHECK(must(fencing::fenced_txn(s, g, first, claim)).succeeded);
  // The host is declared dead and rejoins: a new generation.
  const int64_t second = must(fencing::bump(s, g));
  CHECK(second == 2);
  // The zombie's late write, compared on the generation it held, fails and writes nothing.
  Txn late;
  late.success.push_back(Put{owned, "zombie", 0});
  CHECK_FALSE(must(fencing::fenced_txn(s, g, first, late)).succeeded);
  CHECK(must(s.get(owned, false)).at(0).value == "host-a gen 1");
  CHECK(must(fencing::fenced_txn(s, g, second, late)).succeeded);

  // Concurrent bumps hand out distinct generations.
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> seen;
  std::atomic<int> errors{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, c = b.connect()] {
      for (int n = 0; n < 10; ++n) {
        auto r = fencing::bump(*c, g);
        if (!r) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(*r);
      }
    });
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  CHECK(seen.size() == 40);
  CHECK(*seen.begin() == 3);
  CHECK(*seen.rbegin() == 42);
  CHECK(must(fencing::current(s, g)) == 42);
  // Garbage under the key is a protocol error, not a generation.
  Txn junk;
  junk.success.push_back(Put{g, "forty-two", 0});
  must(s.txn(junk));
  CHECK(fencing::current(s, g).status() == TIER_EPROTO);
  CHECK(fencing::bump(s, g).status() == TIER_EPROTO);
  CHECK(fencing::bump(s, "").status() == TIER_EINVAL);
}
STORE_CASE("fencing: a zombie's write on its old generation fails; bumps never repeat",
           fencing_generations)

}  // namespace

// etcd unreachable for longer than the TTL: the host must learn it lost its lease, within
// about a TTL of the last good refresh, and not block.
TEST_CASE("etcd: a host lease is lost when etcd is unreachable for a TTL", "[etcd]") {
  tier::test::require_etcd_or_skip();
  tier::test::EtcdProcess etcd;
  must(etcd.start());
  auto s = must(EtcdStore::open({{etcd.client_url()}, 500ms, 200ms}));
  std::atomic<int> status{0};
  auto h = must(
      HostLease::acquire(*s, "/hosts/x", "x", {2s, [&](const Error &e) { status = e.status; }}));
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  etcd.stop(false);
  CHECK(eventually([&] { return h->lost(); }, 5s));
  const auto took = Clock::now() - t0;
  CHECK(took < 4s);  // the TTL, plus a refresh period and a request timeout at most
  CHECK(status == TIER_EBUSY);
  CHECK(h->loss().message.find("whole TTL") != std::string::npos);
  CHECK(h->close().ok());  // lost: nothing to revoke, no hang
}
