// test_coord_etcd.cpp - what only the etcd store has to survive: etcd killed, frozen,
// restarted under a writer, one of several endpoints dead, a compacted history. Each case runs
// its own etcd (etcd_harness.hpp), so killing it disturbs no other case.
#include <signal.h>

#include <atomic>
#include <thread>

#include "coord/etcd_store.hpp"
#include "coord/http_client.hpp"
#include "etcd_harness.hpp"
#include "store_backend.hpp"

using namespace tier;
using namespace tier::coord;
using namespace std::chrono_literals;
using tier::test::EtcdProcess;
using tier::test::must;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<EtcdStore> connect(std::vector<std::string> endpoints,
                                   std::chrono::milliseconds request = 1000ms) {
  return must(EtcdStore::open({std::move(endpoints), request, 300ms}));
}

Txn put_txn(const std::string &k, const std::string &v) {
  Txn t;
  t.success.push_back(Put{k, v, 0});
  return t;
}

bool names(const Error &e, const std::string &what) {
  return e.message.find(what) != std::string::npos;
}

// Every call of the interface, on a store whose etcd does not answer: TIER_EBUSY naming the
// endpoint, each within `bound`.
void every_call_is_busy(Store &s, const std::string &url, std::chrono::milliseconds bound) {
  auto timed = [&](const char *what, auto &&call) {
    const auto t0 = Clock::now();
    const tier_status st = call();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    INFO(what << " took " << took.count() << " ms");
    CHECK(st == TIER_EBUSY);
    CHECK(took < bound);
  };
  timed("get", [&] {
    auto r = s.get("/k", false);
    if (!r.ok()) CHECK(names(r.error(), url));
    return r.status();
  });
  timed("txn", [&] {
    auto r = s.txn(put_txn("/k", "v"));
    if (!r.ok()) CHECK(names(r.error(), url));
    return r.status();
  });
  timed("grant", [&] { return s.grant_lease(5s).status(); });
  timed("keep_alive", [&] { return s.keep_alive(12345).status(); });
  timed("revoke", [&] { return s.revoke_lease(12345).status(); });
  timed("wait_events", [&] { return s.wait_events("/k", 0, 100ms).status(); });
}

}  // namespace

TEST_CASE("etcd: open refuses bad options", "[etcd]") {
  CHECK(EtcdStore::open({}).status() == TIER_EINVAL);
  for (const char *bad : {"127.0.0.1:2379", "https://h:1", "http://", "http://h:0",
                          "http://h:99999", "http://h:12/x", "http://[::1"}) {
    auto r = EtcdStore::open({{bad}});
    INFO(bad);
    CHECK(r.status() == TIER_EINVAL);
  }
  CHECK(EtcdStore::open({{"http://h:1"}, 0ms, 10ms}).status() == TIER_EINVAL);
  auto ok = must(EtcdStore::open({{"http://127.0.0.1", "http://[::1]:2380"}}));
  CHECK(ok->describe() == "etcd http://127.0.0.1,http://[::1]:2380");
}

TEST_CASE("etcd: killed, calls are TIER_EBUSY at once; restarted, the data is there", "[etcd]") {
  tier::test::require_etcd_or_skip();
  EtcdProcess etcd;
  must(etcd.start());
  auto s = connect({etcd.client_url()});
  must(s->txn(put_txn("/kept", "before")));
  const Lease l = must(s->grant_lease(60s));

  etcd.stop(false);  // SIGKILL: a crash
  every_call_is_busy(*s, etcd.client_url(), 1500ms);

  must(etcd.start());
  auto kv = must(s->get("/kept", false));
  REQUIRE(kv.size() == 1);
  CHECK(kv[0].value == "before");
  // The lease survived too (etcd persists leases; their TTL restarts with the new leader).
  must(s->keep_alive(l.id));
  must(s->txn(put_txn("/after", "x")));
}

TEST_CASE("etcd: frozen (SIGSTOP), calls time out with TIER_EBUSY; thawed, they work", "[etcd]") {
  tier::test::require_etcd_or_skip();
  EtcdProcess etcd;
  must(etcd.start());
  auto s = connect({etcd.client_url()}, 400ms);
  must(s->txn(put_txn("/k", "v")));
  REQUIRE(::kill(etcd.pid(), SIGSTOP) == 0);
  // The kernel still accepts connections for a stopped process: only the deadline ends these.
  every_call_is_busy(*s, etcd.client_url(), 1500ms);
  auto r = s->get("/k", false);
  REQUIRE(r.status() == TIER_EBUSY);
  CHECK(names(r.error(), "timed out"));
  REQUIRE(::kill(etcd.pid(), SIGCONT) == 0);
  CHECK(must(s->get("/k", false)).size() == 1);
}

TEST_CASE("etcd: a dead endpoint is failed over; all dead names each", "[etcd]") {
  tier::test::require_etcd_or_skip();
  EtcdProcess etcd, never_started;
  must(etcd.start());
  auto s = connect({never_started.client_url(), etcd.client_url()});
  for (int i = 0; i < 3; ++i) must(s->txn(put_txn("/f", std::to_string(i))));
  CHECK(must(s->get("/f", false)).at(0).value == "2");
  etcd.stop(true);  // SIGTERM
  auto r = s->get("/f", false);
  REQUIRE(r.status() == TIER_EBUSY);
  CHECK(names(r.error(), never_started.client_url()));
  CHECK(names(r.error(), etcd.client_url()));
}

TEST_CASE("etcd: a wait before the compacted revision is TIER_EBUSY naming it", "[etcd]") {
  tier::test::require_etcd_or_skip();
  EtcdProcess etcd;
  must(etcd.start());
  auto s = connect({etcd.client_url()});
  Revision last = 0;
  for (int i = 0; i < 5; ++i) last = must(s->txn(put_txn("/c", std::to_string(i)))).revision;
  // Compaction is an operator's (or etcd's auto-compaction's) act, not the Store's: ask the
  // gateway directly.
  auto ep = must(parse_endpoint(etcd.client_url()));
  auto reply =
      must(http_post(ep, "/v3/kv/compaction", "{\"revision\":\"" + std::to_string(last - 1) + "\"}",
                     {500ms, Clock::now() + 2s}));
  REQUIRE(reply.status == 200);
  auto r = s->wait_events("/c", 0, 1s);
  REQUIRE(r.status() == TIER_EBUSY);
  CHECK(names(r.error(), "compacted"));
  CHECK(names(r.error(), std::to_string(last - 1)));
  CHECK(must(s->wait_events("/c", last - 1, 0ms)).size() == 1);
}

// A writer keeps incrementing a counter by compare-and-swap while etcd is killed and started
// again on the same data. Every increment it counts must be in the counter exactly once: a
// TIER_EBUSY whose outcome is unknown is resolved by reading the counter back (each write
// carries the writer's sequence number), never by guessing.
TEST_CASE("etcd: restarted under load, no CAS increment is lost or doubled", "[etcd]") {
  tier::test::require_etcd_or_skip();
  EtcdProcess etcd;
  must(etcd.start());
  auto s = connect({etcd.client_url()}, 500ms);
  const std::string k = "/counter";
  must(s->txn(put_txn(k, "0 0")));  // "<count> <sequence of the write>"

  std::atomic<bool> stop{false};
  std::atomic<int> counted{0}, busy{0}, unknown{0}, errors{0};
  std::string error_text;
  std::thread writer([&] {
    int seq = 0;
    auto parse = [](const std::string &v) { return std::stoi(v.substr(0, v.find(' '))); };
    while (!stop.load()) {
      auto cur = s->get(k, false);
      if (!cur) {
        ++busy;
        std::this_thread::sleep_for(20ms);
        continue;
      }
      if (cur->size() != 1) {
        ++errors;
        return;
      }
      const KeyValue kv = (*cur)[0];
      ++seq;
      const std::string next = std::to_string(parse(kv.value) + 1) + " " + std::to_string(seq);
      Txn t = put_txn(k, next);
      t.compares.push_back(
          Compare{k, Compare::Target::kModRevision, Compare::Op::kEqual, kv.mod_revision, {}});
      auto r = s->txn(t);
      if (r.ok()) {
        if (r->succeeded) ++counted;
        continue;
      }
      if (r.status() != TIER_EBUSY) {
        error_text = r.error().message;
        ++errors;
        return;
      }
      ++busy;
      if (r.error().message.find("outcome unknown") == std::string::npos) continue;
      // Sent, reply lost: once etcd answers again, did our write land?
      ++unknown;
      for (;;) {
        auto back = s->get(k, false);
        if (back) {
          if (back->size() == 1 && (*back)[0].value == next) ++counted;
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
    }
  });

  auto wait_count = [&](int n) {
    const auto until = Clock::now() + 10s;
    while (counted.load() < n && Clock::now() < until && errors.load() == 0)
      std::this_thread::sleep_for(5ms);
  };
  wait_count(30);
  etcd.stop(false);  // SIGKILL mid-stream
  std::this_thread::sleep_for(300ms);
  must(etcd.start());
  const int before_second = counted.load();
  wait_count(before_second + 30);
  etcd.stop(true);  // and SIGTERM
  std::this_thread::sleep_for(200ms);
  must(etcd.start());
  wait_count(counted.load() + 30);
  stop = true;
  writer.join();

  INFO(error_text);
  CHECK(errors == 0);
  CHECK(busy > 0);  // the restarts happened under the writer
  const std::string v = must(s->get(k, false)).at(0).value;
  CHECK(std::stoi(v.substr(0, v.find(' '))) == counted.load());
  CHECK(counted.load() >= 90);
  WARN("increments " << counted.load() << ", busy " << busy.load() << ", unknown outcome "
                     << unknown.load());
}
