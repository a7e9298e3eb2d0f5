// pool_member.hpp - a host's membership of the pool in the coordination store: its lease, its
// live-host record, its demand and its declined give-backs (keys in records.hpp).
//
// join() takes a lease and creates hosts/<id> on it only if absent: a second tierd configured
// with the same host id is refused while the first is live. renew() refreshes the lease once;
// a lease the store no longer knows (TIER_ENODEV: it expired, the host was too slow or
// partitioned) makes the member lost(): the manager fences such a host and takes its extents
// back, so a lost host must stop using the pool and rejoin with its new device generation.
// A store that cannot be reached (TIER_EBUSY) is reported and retried by the caller; nothing
// is assumed about the lease then until it answers again.
// Thread-safety: one thread (tierd's event loop).
#pragma once

#include <chrono>
#include <string>

#include "coord/store.hpp"
#include "pool/records.hpp"

namespace tier::pool {

class PoolMember {
 public:
  PoolMember(coord::Store *store, Keys keys, uint32_t host, std::chrono::seconds ttl);

  Status join(uint64_t generation, int64_t pid);
  Status renew();
  // Writes demand/<id> when `bytes` differs from what was last written.
  Status publish_demand(uint64_t bytes);
  // giveback/<tag> = "declined <reason>", only while the manager's "asked" is there.
  Status report_decline(const Tag &tag, const std::string &reason);
  // Revokes the lease: hosts/<id> and demand/<id> go at once (an orderly stop).
  Status leave();

  bool joined() const { return lease_ != 0 && !lost_; }
  bool lost() const { return lost_; }
  coord::LeaseId lease() const { return lease_; }
  uint32_t host() const { return host_; }

 private:
  coord::Store *store_;
  Keys keys_;
  uint32_t host_;
  std::chrono::seconds ttl_;
  coord::LeaseId lease_ = 0;
  bool lost_ = false;
  bool demand_written_ = false;
  uint64_t demand_ = 0;
};

}  // namespace tier::pool
