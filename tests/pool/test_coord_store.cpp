// test_coord_store.cpp - the Store contract (daemon/coord/store.hpp), case by case, on the
// embedded store and on a real etcd: revisions and versions, compares on present and absent
// keys, prefix ranges in key order, create-if-absent races, leases and their expiry, events,
// and the arguments both refuse.
#include <atomic>
#include <optional>
#include <thread>

#include "coord/embedded_store.hpp"
#include "store_backend.hpp"

using namespace tier;
using namespace tier::coord;
using namespace std::chrono_literals;
using tier::test::Backend;
using tier::test::must;

namespace {

Put put(std::string k, std::string v, LeaseId lease = 0) {
  return Put{std::move(k), std::move(v), lease};
}

Compare cmp(std::string key, Compare::Target t, Compare::Op op, int64_t n) {
  Compare c;
  c.key = std::move(key);
  c.target = t;
  c.op = op;
  c.number = n;
  return c;
}
Compare cmp_value(std::string key, Compare::Op op, std::string v) {
  Compare c;
  c.key = std::move(key);
  c.target = Compare::Target::kValue;
  c.op = op;
  c.value = std::move(v);
  return c;
}
Compare absent(std::string key) {
  return cmp(std::move(key), Compare::Target::kCreateRevision, Compare::Op::kEqual, 0);
}

TxnResult write_key(Store &s, std::string k, std::string v, LeaseId lease = 0) {
  Txn t;
  t.success.push_back(put(std::move(k), std::move(v), lease));
  return must(s.txn(t));
}

std::optional<KeyValue> read_key(Store &s, const std::string &k) {
  auto kvs = must(s.get(k, false));
  if (kvs.empty()) return std::nullopt;
  REQUIRE(kvs.size() == 1);
  return kvs[0];
}

// ---- revisions, versions ----
void revisions_and_versions(Backend &b) {
  Store &s = b.store();
  const std::string k = b.prefix + "a";
  const TxnResult r1 = write_key(s, k, "1");
  REQUIRE(r1.succeeded);
  KeyValue kv = *read_key(s, k);
  CHECK(kv.value == "1");
  CHECK(kv.version == 1);
  CHECK(kv.create_revision == r1.revision);
  CHECK(kv.mod_revision == r1.revision);
  CHECK(kv.lease == 0);

  const TxnResult r2 = write_key(s, k, "2");
  CHECK(r2.revision == r1.revision + 1);
  kv = *read_key(s, k);
  CHECK(kv.version == 2);
  CHECK(kv.create_revision == r1.revision);
  CHECK(kv.mod_revision == r2.revision);

  // A read-only txn and a delete of nothing change no revision.
  Txn ro;
  ro.success.push_back(Range{k, false});
  ro.success.push_back(Delete{b.prefix + "nothing-here", false});
  const TxnResult r3 = must(s.txn(ro));
  CHECK(r3.revision == r2.revision);
  REQUIRE(r3.ranges.size() == 1);
  REQUIRE(r3.ranges[0].size() == 1);
  CHECK(r3.ranges[0][0].value == "2");

  // Delete, then re-create: a new life with version 1 and a new create_revision.
  Txn del;
  del.success.push_back(Delete{k, false});
  const TxnResult r4 = must(s.txn(del));
  CHECK(r4.revision == r2.revision + 1);
  CHECK_FALSE(read_key(s, k).has_value());
  const TxnResult r5 = write_key(s, k, "3");
  kv = *read_key(s, k);
  CHECK(kv.version == 1);
  CHECK(kv.create_revision == r5.revision);

  // Several writes in one txn share one revision.
  Txn two;
  two.success.push_back(put(b.prefix + "x", "x"));
  two.success.push_back(put(b.prefix + "y", "y"));
  const TxnResult r6 = must(s.txn(two));
  CHECK(r6.revision == r5.revision + 1);
  CHECK(read_key(s, b.prefix + "x")->mod_revision == r6.revision);
  CHECK(read_key(s, b.prefix + "y")->mod_revision == r6.revision);
}
STORE_CASE("revisions and versions follow etcd", revisions_and_versions)

// ---- compares ----
void compares(Backend &b) {
  Store &s = b.store();
  const std::string k = b.prefix + "k";
  const std::string missing = b.prefix + "missing";
  const TxnResult w = write_key(s, k, "m");

  auto holds = [&](Compare c) {
    Txn t;
    t.compares.push_back(std::move(c));
    t.success.push_back(Range{k, false});
    t.failure.push_back(Range{missing, false});
    TxnResult r = must(s.txn(t));
    CHECK(r.revision == w.revision);  // nothing written either way
    return r.succeeded;
  };
  using T = Compare::Target;
  using O = Compare::Op;
  CHECK(holds(cmp(k, T::kVersion, O::kEqual, 1)));
  CHECK_FALSE(holds(cmp(k, T::kVersion, O::kEqual, 2)));
  CHECK(holds(cmp(k, T::kVersion, O::kGreater, 0)));
  CHECK(holds(cmp(k, T::kVersion, O::kLess, 2)));
  CHECK(holds(cmp(k, T::kVersion, O::kNotEqual, 0)));
  CHECK(holds(cmp(k, T::kModRevision, O::kEqual, w.revision)));
  CHECK(holds(cmp(k, T::kCreateRevision, O::kEqual, w.revision)));
  CHECK_FALSE(holds(cmp(k, T::kModRevision, O::kLess, w.revision)));
  CHECK(holds(cmp_value(k, O::kEqual, "m")));
  CHECK(holds(cmp_value(k, O::kGreater, "a")));
  CHECK(holds(cmp_value(k, O::kLess, "z")));
  CHECK(holds(cmp_value(k, O::kNotEqual, "n")));
  CHECK_FALSE(holds(cmp_value(k, O::kEqual, "n")));
  // An absent key: zeros for the numbers, and every value compare fails (etcd's rule).
  CHECK(holds(absent(missing)));
  CHECK(holds(cmp(missing, T::kVersion, O::kEqual, 0)));
  CHECK(holds(cmp(missing, T::kModRevision, O::kLess, 1)));
  CHECK_FALSE(holds(cmp(missing, T::kVersion, O::kGreater, 0)));
  CHECK_FALSE(holds(cmp_value(missing, O::kEqual, "")));
  CHECK_FALSE(holds(cmp_value(missing, O::kNotEqual, "x")));
  CHECK_FALSE(holds(absent(k)));

  // The failure branch runs, and its ranges are reported.
  Txn t;
  t.compares.push_back(absent(k));
  t.success.push_back(put(k, "overwritten"));
  t.failure.push_back(Range{k, false});
  TxnResult r = must(s.txn(t));
  CHECK_FALSE(r.succeeded);
  REQUIRE(r.ranges.size() == 1);
  REQUIRE(r.ranges[0].size() == 1);
  CHECK(r.ranges[0][0].value == "m");
  CHECK(read_key(s, k)->value == "m");
}
STORE_CASE("compares on present and absent keys", compares)

// ---- prefix ranges ----
void prefix_ranges(Backend &b) {
  Store &s = b.store();
  const std::string p = b.prefix;
  for (const char *k : {"dir/c", "dir/a", "dir/b", "dirx", "di", "dir/a/deep"})
    write_key(s, p + k, k);
  auto kvs = must(s.get(p + "dir/", true));
  std::vector<std::string> keys;
  for (const auto &kv : kvs) keys.push_back(kv.key.substr(p.size()));
  CHECK(keys == std::vector<std::string>{"dir/a", "dir/a/deep", "dir/b", "dir/c"});
  CHECK(must(s.get(p + "dir", true)).size() == 5);
  CHECK(must(s.get(p + "dir", false)).empty());
  CHECK(must(s.get(p + "zzz", true)).empty());
  // A key made of arbitrary bytes round-trips, and a 0xff byte ends a prefix properly.
  const std::string odd = p + std::string("\xff\x00\x01 bin", 7);
  write_key(s, odd, std::string("\x00\xff", 2));
  auto got = must(s.get(p + "\xff", true));
  REQUIRE(got.size() == 1);
  CHECK(got[0].key == odd);
  CHECK(got[0].value == std::string("\x00\xff", 2));

  Txn del;
  del.success.push_back(Delete{p + "dir/a", true});
  const TxnResult r = must(s.txn(del));
  CHECK(r.succeeded);
  CHECK(must(s.get(p + "dir/", true)).size() == 2);
  CHECK(read_key(s, p + "dirx").has_value());
}
STORE_CASE("prefix ranges come in key order", prefix_ranges)

// ---- create-if-absent from several threads ----
void create_race(Backend &b) {
  const std::string k = b.prefix + "owner";
  constexpr int kThreads = 6;
  std::vector<std::shared_ptr<Store>> clients;
  for (int i = 0; i < kThreads; ++i) clients.push_back(b.connect());
  std::atomic<int> winners{0}, losers{0}, errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      Txn t;
      t.compares.push_back(absent(k));
      t.success.push_back(put(k, "host" + std::to_string(i)));
      t.failure.push_back(Range{k, false});
      auto r = clients[i]->txn(t);
      if (!r)
        ++errors;
      else if (r->succeeded)
        ++winners;
      else
        ++losers;
    });
  go = true;
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  CHECK(winners == 1);
  CHECK(losers == kThreads - 1);
  CHECK(read_key(b.store(), k)->version == 1);
}
STORE_CASE("create-if-absent races: exactly one wins", create_race)

// ---- CAS counter from several threads: no increment lost or doubled ----
void cas_counter(Backend &b) {
  const std::string k = b.prefix + "counter";
  write_key(b.store(), k, "0");
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, c = b.connect()] {
      for (int n = 0; n < kEach;) {
        auto cur = c->get(k, false);
        if (!cur || cur->size() != 1) {
          ++errors;
          return;
        }
        Txn t;
        t.compares.push_back(
            cmp(k, Compare::Target::kModRevision, Compare::Op::kEqual, (*cur)[0].mod_revision));
        t.success.push_back(put(k, std::to_string(std::stoi((*cur)[0].value) + 1)));
        auto r = c->txn(t);
        if (!r) {
          ++errors;
          return;
        }
        if (r->succeeded) ++n;
      }
    });
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  const KeyValue kv = *read_key(b.store(), k);
  CHECK(kv.value == std::to_string(kThreads * kEach));
  CHECK(kv.version == kThreads * kEach + 1);
}
STORE_CASE("CAS increments from several threads add up", cas_counter)

// ---- leases ----
void lease_keys_and_revoke(Backend &b) {
  Store &s = b.store();
  const Lease l = must(s.grant_lease(30s));
  CHECK(l.id > 0);
  CHECK(l.ttl == 30s);
  write_key(s, b.prefix + "m/1", "a", l.id);
  write_key(s, b.prefix + "m/2", "b", l.id);
  const TxnResult w = write_key(s, b.prefix + "kept", "c");
  CHECK(read_key(s, b.prefix + "m/1")->lease == l.id);
  auto ttl = must(s.keep_alive(l.id));
  CHECK(ttl == 30s);
  // Re-putting a key without the lease detaches it: it survives the revoke.
  write_key(s, b.prefix + "m/2", "b2");
  must(s.revoke_lease(l.id));
  CHECK_FALSE(read_key(s, b.prefix + "m/1").has_value());
  CHECK(read_key(s, b.prefix + "m/2").has_value());
  CHECK(read_key(s, b.prefix + "kept").has_value());
  // Events: the revoke deleted m/1.
  auto ev = must(s.wait_events(b.prefix + "m/", w.revision + 1, 0ms));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == Event::Type::kDelete);
  CHECK(ev[0].kv.key == b.prefix + "m/1");
  // A revoked lease is gone.
  CHECK(s.keep_alive(l.id).status() == TIER_ENODEV);
  CHECK(s.revoke_lease(l.id).status() == TIER_ENODEV);
  // And a put naming it fails without writing anything.
  Txn t;
  t.success.push_back(put(b.prefix + "late", "x", l.id));
  auto r = s.txn(t);
  CHECK(r.status() == TIER_ENODEV);
  CHECK_FALSE(read_key(s, b.prefix + "late").has_value());
}
STORE_CASE("lease keys go with the lease; revoked leases are unknown", lease_keys_and_revoke)

void lease_expiry(Backend &b) {
  Store &s = b.store();
  const Lease l = must(s.grant_lease(1s));
  const TxnResult w = write_key(s, b.prefix + "host/a", "alive", l.id);
  // A waiter that started before the expiry sees the delete without polling.
  const auto t0 = std::chrono::steady_clock::now();
  auto ev = must(s.wait_events(b.prefix + "host/", w.revision, 10s));
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == Event::Type::kDelete);
  CHECK(ev[0].kv.key == b.prefix + "host/a");
  CHECK(ev[0].kv.mod_revision > w.revision);
  CHECK(waited >= 900ms);
  CHECK(waited < 5s);  // etcd checks expiry every 500 ms; its minimum TTL here is 1 s
  CHECK_FALSE(read_key(s, b.prefix + "host/a").has_value());
  CHECK(s.keep_alive(l.id).status() == TIER_ENODEV);
}
STORE_CASE("an expired lease deletes its keys with delete events", lease_expiry)

void keep_alive_holds(Backend &b) {
  Store &s = b.store();
  const Lease l = must(s.grant_lease(1s));
  write_key(s, b.prefix + "h", "x", l.id);
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(300ms);
    must(s.keep_alive(l.id));
  }
  CHECK(read_key(s, b.prefix + "h").has_value());
  must(s.revoke_lease(l.id));
}
STORE_CASE("keep_alive holds a lease past its TTL", keep_alive_holds)

// ---- events ----
void events(Backend &b) {
  Store &s = b.store();
  const std::string p = b.prefix + "ev/";
  const Revision start = write_key(s, b.prefix + "before", "x").revision;
  // Nothing yet: the wait times out empty, after about its timeout.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(must(s.wait_events(p, start, 300ms)).empty());
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 250ms);
  CHECK(waited < 3s);

  // A writer on another client while we wait.
  std::thread writer([c = b.connect(), p] {
    std::this_thread::sleep_for(200ms);
    Txn t;
    t.success.push_back(put(p + "a", "1"));
    (void)c->txn(t);
  });
  auto ev = must(s.wait_events(p, start, 10s));
  writer.join();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == Event::Type::kPut);
  CHECK(ev[0].kv.key == p + "a");
  CHECK(ev[0].kv.value == "1");
  CHECK(ev[0].kv.version == 1);
  const Revision r1 = ev[0].kv.mod_revision;

  write_key(s, p + "a", "2");
  write_key(s, b.prefix + "elsewhere", "x");
  Txn del;
  del.success.push_back(Delete{p + "a", false});
  const Revision r3 = must(s.txn(del)).revision;
  ev = must(s.wait_events(p, r1, 0ms));
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == Event::Type::kPut);
  CHECK(ev[0].kv.value == "2");
  CHECK(ev[0].kv.version == 2);
  CHECK(ev[1].type == Event::Type::kDelete);
  CHECK(ev[1].kv.key == p + "a");
  CHECK(ev[1].kv.mod_revision == r3);
  // After the last event: nothing.
  CHECK(must(s.wait_events(p, r3, 0ms)).empty());
}
STORE_CASE("wait_events sees puts and deletes after a revision, and times out empty", events)

// ---- bad arguments ----
void bad_arguments(Backend &b) {
  Store &s = b.store();
  CHECK(s.get("", false).status() == TIER_EINVAL);
  CHECK(s.get("", true).status() == TIER_EINVAL);
  Txn t;
  t.success.push_back(put("", "x"));
  auto r = s.txn(t);
  REQUIRE(r.status() == TIER_EINVAL);
  CHECK(r.error().message.find("empty key") != std::string::npos);
  Txn c;
  c.compares.push_back(absent(""));
  CHECK(s.txn(c).status() == TIER_EINVAL);
  Txn twice;
  twice.success.push_back(put(b.prefix + "d", "1"));
  twice.success.push_back(put(b.prefix + "d", "2"));
  CHECK(s.txn(twice).status() == TIER_EINVAL);
  Txn overlap;
  overlap.success.push_back(put(b.prefix + "o/1", "1"));
  overlap.success.push_back(Delete{b.prefix + "o/", true});
  CHECK(s.txn(overlap).status() == TIER_EINVAL);
  Txn many;
  for (int i = 0; i < 129; ++i) many.success.push_back(Range{b.prefix + std::to_string(i), false});
  CHECK(s.txn(many).status() == TIER_EINVAL);
  CHECK(must(s.get(b.prefix, true)).empty());  // nothing was written by any of them

  CHECK(s.grant_lease(0s).status() == TIER_EINVAL);
  CHECK(s.grant_lease(-5s).status() == TIER_EINVAL);
  CHECK(s.keep_alive(0).status() == TIER_EINVAL);
  CHECK(s.revoke_lease(-1).status() == TIER_EINVAL);
  CHECK(s.keep_alive(0x7123456789).status() == TIER_ENODEV);
  CHECK(s.revoke_lease(0x7123456789).status() == TIER_ENODEV);
  Txn unknown_lease;
  unknown_lease.success.push_back(put(b.prefix + "l", "x", 0x7123456789));
  CHECK(s.txn(unknown_lease).status() == TIER_ENODEV);
  CHECK(s.wait_events("", 0, 0ms).status() == TIER_EINVAL);
  CHECK(s.wait_events(b.prefix, -1, 0ms).status() == TIER_EINVAL);
  CHECK(s.wait_events(b.prefix, 0, -1ms).status() == TIER_EINVAL);
  CHECK_FALSE(s.describe().empty());
}
STORE_CASE("bad arguments are refused with TIER_EINVAL, unknown leases with TIER_ENODEV",
           bad_arguments)

// The embedded store keeps `history` revisions of events; a wait before them is compacted.
TEST_CASE("embedded: a wait before the kept history is TIER_EBUSY naming the revision",
          "[embedded]") {
  EmbeddedStore s(EmbeddedStore::Options{3});
  Revision last = 0;
  for (int i = 0; i < 6; ++i) last = write_key(s, "/k", std::to_string(i)).revision;
  // Revisions last-2 .. last are kept.
  CHECK(must(s.wait_events("/k", last - 3, 0ms)).size() == 3);
  auto r = s.wait_events("/k", last - 4, 0ms);
  REQUIRE(r.status() == TIER_EBUSY);
  CHECK(r.error().message.find("compacted") != std::string::npos);
  CHECK(r.error().message.find(std::to_string(last - 3)) != std::string::npos);
}

}  // namespace
