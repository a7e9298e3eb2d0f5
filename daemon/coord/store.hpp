// store.hpp - the coordination store: the one place where the hosts of a CXL pool agree.
//
// Membership, host leases, extent ownership and the pool-manager role live in a key-value store
// with etcd v3's semantics, and change only through compare-and-swap transactions. Two
// implementations sit behind this interface:
//  - EmbeddedStore (embedded_store.hpp): in the process, for a single host with no external
//    service (the README's main job). Same semantics, no durability across restarts.
//  - EtcdStore (etcd_store.hpp): a real etcd cluster (Debian's etcd-server) for several hosts.
// Tier never implements consensus itself; the embedded store is correct only because one
// process is the only writer.
//
// Contract, shared by both implementations:
//  - Revisions are the store's: every successful write transaction bumps the store revision by
//    one, and each key carries create_revision, mod_revision and version as in etcd.
//  - A key attached to a lease is deleted when the lease expires or is revoked.
//  - Errors: TIER_EBUSY when the store cannot be reached now (etcd down or restarting: the caller
//    may retry, nothing was written; except that a write sent to etcd with no definite answer
//    back says "outcome unknown" in its message: it may have been committed, so re-read before
//    retrying), TIER_EPROTO for a reply that cannot be understood,
//    TIER_ENODEV for an unknown or expired lease, TIER_EINVAL for a bad argument (an empty key).
//    A transaction whose compares fail is not an error: TxnResult::succeeded is false.
//  - Thread-safety: every call may be made from any thread; calls are independent.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace tier::coord {

using Revision = int64_t;
using LeaseId = int64_t;  // 0: no lease

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
  int64_t version = 0;  // 1 on creation, +1 per put; 0 for a key that does not exist
  LeaseId lease = 0;
};

// One comparison of a transaction, as etcd's Compare. A key that does not exist has
// version 0, create_revision 0 and mod_revision 0 (so "create if absent" is
// {key, kCreateRevision, kEqual, 0}), and compares unequal to every value: as in etcd, every
// kValue compare on it fails, kNotEqual included.
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue };
  enum class Op { kEqual, kNotEqual, kLess, kGreater };
  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  int64_t number = 0;  // for kVersion, kCreateRevision, kModRevision
  std::string value;   // for kValue
};

struct Put {
  std::string key;
  std::string value;
  LeaseId lease = 0;
};
struct Delete {
  std::string key;
  bool prefix = false;  // delete every key that starts with `key`
};
struct Range {
  std::string key;
  bool prefix = false;  // every key that starts with `key`, in key order
};
using Op = std::variant<Put, Delete, Range>;

struct Txn {
  std::vector<Compare> compares;  // all must hold for `success` to run
  std::vector<Op> success;
  std::vector<Op> failure;
};

struct TxnResult {
  bool succeeded = false;
  Revision revision = 0;  // the store's revision after the transaction
  // One entry per Range op of the branch that ran, in order; empty for Put and Delete ops.
  std::vector<std::vector<KeyValue>> ranges;
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: the key and the revision of the deletion (mod_revision)
};

struct Lease {
  LeaseId id = 0;
  std::chrono::seconds ttl{0};
};

class Store {
 public:
  virtual ~Store() = default;

  // A short name for diagnostics and `tierctl pool` ("embedded", "etcd http://127.0.0.1:2379").
  virtual std::string describe() const = 0;

  virtual Result<TxnResult> txn(const Txn &txn) = 0;
  // Convenience: a single Range.
  virtual Result<std::vector<KeyValue>> get(const std::string &key, bool prefix) = 0;

  virtual Result<Lease> grant_lease(std::chrono::seconds ttl) = 0;
  // One refresh; returns the remaining TTL. TIER_ENODEV once the lease has expired.
  virtual Result<std::chrono::seconds> keep_alive(LeaseId id) = 0;
  virtual Status revoke_lease(LeaseId id) = 0;

  // The events on keys starting with `prefix` with revision > `after`, waiting up to `timeout`
  // for the first one (an empty vector after the timeout). Events older than the store's
  // compaction point are reported as TIER_EBUSY with a message naming the compacted revision;
  // the caller then re-reads the prefix.
  virtual Result<std::vector<Event>> wait_events(const std::string &prefix, Revision after,
                                                 std::chrono::milliseconds timeout) = 0;
};

}  // namespace tier::coord
