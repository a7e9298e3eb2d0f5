// etcd_store.hpp - the coordination store on a real etcd cluster, for a pool of several hosts.
//
// EtcdStore speaks etcd v3's JSON gateway (HTTP/1.1 POSTs to /v3/kv/range, /v3/kv/txn,
// /v3/lease/{grant,keepalive,revoke}, and the streamed /v3/watch) on the cluster's client
// URLs; docs/pool.md ("Coordination") says why the gateway and not gRPC. Semantics are
// etcd's own, which is what store.hpp states.
//
// Failures and failover:
//  - Every call has a deadline (Options::request_timeout, plus the wait of wait_events) and
//    each connection attempt a shorter one (connect_timeout). A call never blocks longer, and
//    never aborts.
//  - Endpoints are tried in turn, starting at the last one that answered. A request that was
//    never sent (connection refused, connect timeout) moves on to the next endpoint; so does a
//    read after a lost reply or an UNAVAILABLE refusal.
//  - When no endpoint answers: TIER_EBUSY, naming each endpoint and what failed there.
//  - A write (txn with a put or delete, grant, revoke) that was sent and got no definite
//    answer (the reply was lost, or etcd said "request timed out", "leader changed", "server
//    stopped") is not resent: etcd may have committed it. It returns TIER_EBUSY whose message
//    says "outcome unknown"; the caller re-reads before deciding (a compare-and-swap's own
//    compares make that safe: re-read, then retry with the revision read).
// Thread-safe: calls share only the immutable options and the index of the preferred endpoint.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "coord/http_client.hpp"
#include "coord/store.hpp"

namespace tier::coord {

class EtcdStore final : public Store {
 public:
  struct Options {
    std::vector<std::string> endpoints;  // client URLs, "http://127.0.0.1:2379"
    std::chrono::milliseconds request_timeout{2000};
    std::chrono::milliseconds connect_timeout{500};
  };

  // Checks the options; does not contact etcd (a host may start before its cluster).
  // TIER_EINVAL for no endpoint, a malformed one, or a timeout <= 0.
  static Result<std::unique_ptr<EtcdStore>> open(Options options);

  std::string describe() const override;

  Result<TxnResult> txn(const Txn &txn) override;
  Result<std::vector<KeyValue>> get(const std::string &key, bool prefix) override;

  Result<Lease> grant_lease(std::chrono::seconds ttl) override;
  Result<std::chrono::seconds> keep_alive(LeaseId id) override;
  Status revoke_lease(LeaseId id) override;

  Result<std::vector<Event>> wait_events(const std::string &prefix, Revision after,
                                         std::chrono::milliseconds timeout) override;

 private:
  EtcdStore(Options options, std::vector<HttpEndpoint> endpoints);

  enum class Kind { kRead, kWrite };
  // POSTs `body` to `target` with failover; the reply's body on HTTP 200, else an Error
  // (decode_error for an etcd refusal, TIER_EBUSY when nobody answered).
  Result<std::string> call(const char *what, const std::string &target, const std::string &body,
                           Kind kind);

  const Options options_;
  const std::vector<HttpEndpoint> endpoints_;
  std::atomic<size_t> preferred_{0};
};

}  // namespace tier::coord
