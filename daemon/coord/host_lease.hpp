// host_lease.hpp - a host's presence in the pool: a key that lives as long as the host does.
//
// HostLease grants a lease of `ttl`, creates `key` = `value` attached to it (only if the key is
// absent: a key still held by an earlier incarnation's lease is TIER_EBUSY until that lease
// expires), and refreshes the lease on a thread every ttl/3. The lease is lost when
// etcd says it is gone (expired, revoked: TIER_ENODEV), or when refreshes have failed for a
// whole TTL (etcd unreachable: the lease has expired there, or will before anyone could tell
// us otherwise). Loss is reported once, by the callback (on the refresh thread) and by lost()/
// loss(); the thread then stops. A lost host must stop acting as a member: its key, and every
// key it attached to lease(), are gone or about to be. close() stops the thread and revokes the
// lease, deleting the keys at once (a clean shutdown, where expiry would take a TTL).
//
// The key itself is not watched: a host whose key someone else deleted keeps its lease. Other
// keys (election candidacy, extent ownership) can be attached to lease() so they go with it.
// Thread-safety: lost(), loss(), lease() and key() may be called from any thread; close() and
// the destructor from the owner only (not from the callback).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "coord/store.hpp"

namespace tier::coord {

class HostLease {
 public:
  struct Options {
    std::chrono::seconds ttl{10};
    // Called once, on the refresh thread, when the lease is lost (with why). May be empty.
    std::function<void(const Error &)> on_lost;
  };

  // TIER_EBUSY when `key` exists (naming the lease that holds it) or the store is unreachable;
  // TIER_EINVAL for an empty key or ttl <= 0. On error nothing is left behind (the lease is
  // revoked).
  static Result<std::unique_ptr<HostLease>> acquire(Store &store, std::string key,
                                                    std::string value, Options options);
  ~HostLease();  // close(), ignoring its result

  LeaseId lease() const { return lease_; }
  const std::string &key() const { return key_; }
  Revision create_revision() const { return create_revision_; }
  bool lost() const;
  // Why the lease was lost (meaningful once lost()).
  Error loss() const;

  // Stops refreshing and revokes the lease. ok also when it was already lost or closed.
  Status close();

 private:
  HostLease(Store &store, std::string key, LeaseId lease, Revision rev, Options options);
  void refresh_loop();

  Store &store_;
  const std::string key_;
  const LeaseId lease_;
  const Revision create_revision_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool lost_ = false;
  bool closed_ = false;
  Error loss_;
  std::thread thread_;
};

}  // namespace tier::coord
