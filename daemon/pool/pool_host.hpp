// pool_host.hpp - a host's side of the CXL pool: the device's events turned into capacity of
// this host's pool node, and give-backs answered by moving data off first.
//
// What is modelled (docs/pool.md "What is modelled"): the pool node's capacity in tierd's plans
// is the sum of the extents this host has accepted. An extent the manager asks back is taken out
// of the plans' capacity at once (so no plan fills it again), and is released on the device only
// once the bytes the clients publish on the pool node fit in what remains; until then the host
// moves the node's coldest chunks to other nodes (Placement::evacuate) every step. A give-back
// that has not fitted when its deadline passes is declined on the device with the reason kept
// (last_decline()), the extent stays this host's, and nothing was dropped. Which bytes lie on
// which extent is not modelled: any extent may go once the node's use fits without it.
//
// A command the device refuses with TIER_EPERM means this host was fenced (its lease was lost
// and the manager took its extents back): the host then holds no pool capacity and says so
// (fenced()); rejoin() takes the device's new generation.
// Thread-safety: one thread (tierd's event loop).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "pool/pool_device.hpp"

namespace tier::pool {

// What the host side needs of tierd's placement: the bytes on the pool node as clients last
// published them, setting the plans' capacity of that node, and moving bytes off it.
struct HostTier {
  std::function<uint64_t()> used;
  std::function<void(uint64_t)> set_capacity;
  std::function<uint64_t(uint64_t)> evacuate;  // returns the bytes handed to movers
};

struct GiveBack {
  Extent extent;
  std::chrono::steady_clock::time_point asked;
  std::chrono::steady_clock::time_point deadline;
  uint64_t bytes_moved = 0;  // handed to movers for this give-back so far
};

struct HostStep {
  std::vector<Extent> accepted;   // offers accepted this step
  std::vector<Extent> released;   // give-backs completed this step
  std::vector<Extent> declined;   // give-backs declined this step (see last_decline())
  uint64_t bytes_evacuating = 0;  // handed to movers this step
};

class PoolHost {
 public:
  PoolHost(PoolDevice *device, uint32_t host, std::chrono::milliseconds giveback_timeout,
           HostTier tier);

  // Reads this host's generation and adopts the extents the device says it holds (a tierd
  // restarted on the same host keeps its capacity).
  Status start();
  // After being fenced: take the device's current generation and start afresh with nothing.
  Status rejoin();

  // Accepts offers, advances give-backs. Call after each epoch (the clients' published use is
  // fresh then).
  Result<HostStep> step(std::chrono::steady_clock::time_point now);

  uint32_t host() const { return host_; }
  uint64_t generation() const { return generation_; }
  bool fenced() const { return fenced_; }
  // Bytes of accepted extents, including those being given back.
  uint64_t held_bytes() const;
  // What the plans may fill: held less what is being given back.
  uint64_t plan_capacity() const;
  const std::map<Tag, Extent> &extents() const { return held_; }
  const std::map<Tag, GiveBack> &pending() const { return pending_; }
  const std::string &last_decline() const { return last_decline_; }
  uint64_t gave_back_total() const { return gave_back_; }
  uint64_t declined_total() const { return declined_; }

 private:
  Error on_device_error(Error e);

  PoolDevice *dev_;
  uint32_t host_;
  std::chrono::milliseconds timeout_;
  HostTier tier_;
  uint64_t generation_ = 0;
  bool fenced_ = false;
  std::map<Tag, Extent> held_;
  std::map<Tag, GiveBack> pending_;
  std::string last_decline_;
  uint64_t gave_back_ = 0, declined_ = 0;
};

}  // namespace tier::pool
