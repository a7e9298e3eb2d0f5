// embedded_store.hpp - the coordination store inside the process, for a pool with one host.
//
// EmbeddedStore keeps etcd v3's data model in memory with the semantics store.hpp states, so
// code written against Store behaves the same here and on etcd:
//  - The store revision starts at 1 (etcd's empty store) and grows by one for each write
//    transaction that changes something (a put, or a delete that removed a key). A transaction
//    that only reads, or whose deletes matched nothing, leaves it unchanged, as in etcd.
//  - Keys carry create_revision, mod_revision, version and lease; a put keeps create_revision
//    and bumps version; a put with lease 0 detaches the key from its old lease.
//  - Leases expire on a steady clock. Expiry (and revoke) deletes every key attached to the
//    lease in one revision and records a delete event per key. Expiry is applied at the start
//    of every call and while wait_events sleeps, so no caller can observe a lease past its
//    deadline; there is no background thread.
//  - The last `history` revisions' events are kept for wait_events; a wait that starts before
//    them is refused with TIER_EBUSY naming the compacted revision, as etcd refuses a watch on
//    a compacted revision.
// Not durable: the data ends with the object. Thread-safe: one mutex guards everything; waiters
// sleep on a condition variable that every write notifies.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "coord/store.hpp"

namespace tier::coord {

class EmbeddedStore final : public Store {
 public:
  struct Options {
    // Revisions whose events wait_events can still return (etcd keeps them until compaction).
    size_t history = 10000;
  };

  EmbeddedStore() : EmbeddedStore(Options{}) {}
  explicit EmbeddedStore(Options options);

  std::string describe() const override { return "embedded"; }

  Result<TxnResult> txn(const Txn &txn) override;
  Result<std::vector<KeyValue>> get(const std::string &key, bool prefix) override;

  Result<Lease> grant_lease(std::chrono::seconds ttl) override;
  Result<std::chrono::seconds> keep_alive(LeaseId id) override;
  Status revoke_lease(LeaseId id) override;

  Result<std::vector<Event>> wait_events(const std::string &prefix, Revision after,
                                         std::chrono::milliseconds timeout) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct LeaseState {
    std::chrono::seconds ttl{0};
    Clock::time_point deadline;
    std::set<std::string> keys;
  };

  // All of these run with mu_ held.
  void expire_locked(Clock::time_point now);
  // Deletes `id` and its keys as one revision (if it had keys); notifies waiters.
  void drop_lease_locked(std::map<LeaseId, LeaseState>::iterator it);
  std::vector<KeyValue> range_locked(const Range &r) const;
  // Applies a write at revision `rev`; returns whether anything changed.
  bool put_locked(const Put &p, Revision rev);
  bool delete_locked(const Delete &d, Revision rev);
  void delete_key_locked(std::map<std::string, KeyValue>::iterator it, Revision rev);
  bool compare_locked(const Compare &c) const;
  void record_locked(Event e);
  void trim_history_locked();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, KeyValue> kv_;
  std::map<LeaseId, LeaseState> leases_;
  LeaseId next_lease_ = 0;
  Revision revision_ = 1;
  std::deque<Event> history_;  // in revision order
  Revision compacted_ = 0;     // events at or below this revision may have been dropped
};

}  // namespace tier::coord
