// pool_manager.hpp - the fabric manager's role: grant extents on demand, take capacity back
// from hosts that hold more than they want when another host's demand cannot be met, and fence
// dead hosts before their extents return to the pool.
//
// One tierd of the pool holds the role at a time (acquire(): the `manager` key, created only if
// absent, on the holder's lease, so it passes to another host when the holder's lease expires).
// Every write of a step is a transaction that also compares the `manager` key with this
// holder's value: a manager that lost the role without noticing changes nothing.
//
// A step, from one read of the store and one of the device:
//  1. reconcile: an extent record whose extent is gone from the device is a finished give-back
//     (or a grant whose device command never ran) and is deleted; a device extent without a
//     record is recorded as its host's.
//  2. fence: a host that holds extents but has no live hosts/<id> record lost its lease. The
//     device first bumps its generation and takes its extents back (fence_host), then the store
//     drops their records and notes fenced/<id>. Only then is the media free for others.
//  3. grant: a live host whose demand exceeds what it holds gets the difference (rounded up to
//     the device's alignment, in extents of at most extent_bytes) as one more chain: the records
//     are created first (compare-and-swap on each key's absence), then the device offers them.
//  4. rebalance: demand that free media cannot meet is asked back from hosts that hold more than
//     they demand, an extent at a time (never more than a host's surplus): giveback/<tag> =
//     "asked", the record marked releasing, then the device's release request. A host that
//     declines is not asked for that extent again until decline_cooldown has passed.
// Errors: the step stops at the first store or device error and returns it (TIER_EBUSY when the
// store is unreachable: nothing half-done is left that the next step does not reconcile).
// Thread-safety: one thread (tierd's event loop).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "coord/store.hpp"
#include "pool/pool_device.hpp"
#include "pool/records.hpp"

namespace tier::pool {

struct ManagerOptions {
  uint32_t host = 0;  // the host this manager runs on (the role key's value)
  Keys keys;
  uint64_t extent_bytes = uint64_t{64} << 20;  // the largest extent a grant offers
  uint32_t max_extents_per_grant = 64;
  std::chrono::milliseconds decline_cooldown{5000};
};

struct ManagerStep {
  bool manager = false;  // this tierd held the role for the step
  std::vector<Extent> granted;
  std::vector<Extent> asked;          // give-backs asked
  std::vector<uint32_t> fenced;       // hosts fenced
  uint64_t reclaimed_bytes = 0;       // from fenced hosts
  uint64_t unmet_bytes = 0;           // demand neither free media nor give-backs met this step
  std::vector<std::string> declines;  // "tag: reason" of give-backs hosts declined
};

class PoolManager {
 public:
  PoolManager(coord::Store *store, PoolDevice *device, ManagerOptions options);

  // Takes the role if nobody holds it, on `lease` (the host's membership lease). True when
  // this host holds it after the call.
  Result<bool> acquire(coord::LeaseId lease);
  Result<ManagerStep> step(std::chrono::steady_clock::time_point now);

 private:
  std::string role_value() const;
  coord::Compare holds_role() const;
  Result<coord::TxnResult> run(coord::Txn t);  // with the role compare added

  coord::Store *store_;
  PoolDevice *dev_;
  ManagerOptions opt_;
  std::map<Tag, std::chrono::steady_clock::time_point> declined_at_;
};

}  // namespace tier::pool
