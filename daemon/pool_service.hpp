// pool_service.hpp - tierd's CXL pool: the pool device, the coordination store, this host's
// membership and host side, and the manager role, run once per epoch from the event loop.
//
// Created when [pool] backend is not "none". Setup opens (or formats) the pool device, joins
// the pool in the store with a lease, takes the manager role if it is free, and makes the
// topology's cxl-pool node the pool tier: its capacity in tierd's plans is from then on the
// extents this host holds (0 until the first grant). Each epoch, after the plan:
//   renew the lease; publish this host's demand; if manager, run the manager's step; run the
//   host step (accept offers, move data off what is asked back, release or decline); report a
//   decline's reason to the store.
// Demand is what the host would put on the pool: the bytes on the pool node, plus what the
// faster nodes hold above their high watermark (what the policy wants to demote), plus one
// extent of headroom so demotions find room before the next grant arrives.
// A store or device error is logged (once per distinct message) and the next epoch retries:
// the pool never stops the placement loop. A lost lease (the host was fenced) drops the pool
// capacity to 0 and rejoins with the device's new generation.
// Thread-safety: event-loop thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "coord/store.hpp"
#include "daemon_options.hpp"
#include "placement.hpp"
#include "pool/pool_device.hpp"
#include "pool/pool_host.hpp"
#include "pool/pool_manager.hpp"
#include "pool/pool_member.hpp"

namespace tier::daemon {

struct PoolCounters {
  uint64_t granted_bytes = 0;    // by this host's manager
  uint64_t gave_back = 0;        // give-backs this host completed
  uint64_t declined = 0;         // give-backs this host declined
  uint64_t fenced_hosts = 0;     // hosts this host's manager fenced
  uint64_t reclaimed_bytes = 0;  // from fenced hosts
  uint64_t errors = 0;           // store or device errors in steps
};

class PoolService {
 public:
  static Result<std::unique_ptr<PoolService>> create(const DaemonOptions &options,
                                                     Placement *placement, Placement::LogFn log);
  ~PoolService();

  void step(const std::vector<ClientState *> &clients);
  // The pool's state for `tierctl pool` (pool_status.cpp).
  Result<std::string> status_json();

  const pool::PoolDevice &device() const { return *dev_; }
  pool::PoolDevice &device() { return *dev_; }
  coord::Store &store() { return *store_; }
  const pool::Keys &keys() const { return keys_; }
  const pool::PoolHost &host() const { return *host_; }
  int32_t node() const { return node_; }
  bool manager() const { return manager_; }
  uint64_t demand() const { return demand_; }
  const PoolCounters &counters() const { return counters_; }
  const std::string &last_error() const { return last_error_; }

 private:
  PoolService() = default;
  void note(const Status &st);
  uint64_t compute_demand(const std::vector<ClientState *> &clients) const;

  DaemonOptions options_;
  Placement *placement_ = nullptr;
  Placement::LogFn log_;
  int32_t node_ = -1;
  pool::Keys keys_;
  std::unique_ptr<pool::PoolDevice> dev_;
  std::unique_ptr<coord::Store> store_;
  std::unique_ptr<pool::PoolMember> member_;
  std::unique_ptr<pool::PoolHost> host_;
  std::unique_ptr<pool::PoolManager> mgr_;
  const std::vector<ClientState *> *clients_ = nullptr;  // during step() only
  bool manager_ = false;
  uint64_t demand_ = 0;
  PoolCounters counters_;
  std::string last_error_;
};

}  // namespace tier::daemon
