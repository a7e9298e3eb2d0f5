// election.hpp - one leader among the hosts (the pool manager's role), by etcd's recipe.
//
// A candidate campaigns by creating `prefix` + its lease id (hex) with its value, attached to
// its lease (usually its HostLease's). Candidates are ordered by the keys' create_revision; the
// lowest leads. A candidate that does not lead waits for the deletion of its predecessor only
// (the next lower create_revision), not for every change, so a leader's loss wakes one host.
// A leader that dies loses its lease, its key is deleted at expiry, and the next candidate
// leads; resign() deletes the key at once. This is etcd's own election recipe
// (client/v3/concurrency/election.go), written over Store so it runs on both engines.
//
// A leader's term is its key's create_revision (term()): it grows with every new leader, so
// the pool can fence a former leader's late writes with a compare on it, or with a Fencing
// generation (fencing.hpp).
// Thread-safety: one Election object per candidate, used from one thread at a time; leader()
// may be called from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "coord/store.hpp"

namespace tier::coord {

class Election {
 public:
  // `prefix` names the election ("/pool/manager/"); TIER_EINVAL from campaign() when empty.
  Election(Store &store, std::string prefix);

  // Enters the election with `value` (what leader() shows, e.g. the host's name and address),
  // attached to `lease`. Campaigning again with the same lease updates the value and keeps the
  // place. TIER_ENODEV for an unknown lease.
  Status campaign(LeaseId lease, const std::string &value);

  // Waits up to `timeout` to lead. true: this candidate leads; false: not yet (still a
  // candidate, call again). TIER_ENODEV when the candidacy is gone (its key was deleted: the
  // lease expired, or resign()), TIER_EINVAL before campaign().
  Result<bool> wait_leader(std::chrono::milliseconds timeout);

  // Leaves the election (deletes this candidate's key, only if it is still the one it created).
  Status resign();

  // The current leader's key and value, or nullopt when nobody campaigns.
  Result<std::optional<KeyValue>> leader();

  const std::string &key() const { return key_; }
  Revision term() const { return create_revision_; }

 private:
  Store &store_;
  const std::string prefix_;
  std::string key_;
  Revision create_revision_ = 0;
};

}  // namespace tier::coord
