// discover.cpp - discovery order: hwloc first, the sysfs reader when hwloc fails; then
// classification and ranking (docs/topology.md, "Discovery"). Thread-safe.
#include "topology/topology.hpp"

namespace tier {

Result<Topology> discover(const DiscoverOptions &options) {
  Result<Topology> found = make_error(TIER_ETOPOLOGY, "discovery not attempted");
  if (options.use_hwloc) found = discover_hwloc();
  if (!found) {
    Error hwloc_error = found.ok() ? Error{} : found.error();
    found = discover_sysfs(options.sysfs_root);
    if (!found && options.use_hwloc)
      return make_error(TIER_ETOPOLOGY, "topology discovery failed: hwloc: " + hwloc_error.message +
                                            "; sysfs: " + found.error().message);
    if (!found) return std::move(found).error();
  }
  Topology t = std::move(*found);
  classify(t);
  rank_tiers(t);
  if (auto st = validate(t, nullptr); !st)
    return std::move(st).error().context("discovered topology (" + t.source + ")");
  return t;
}

}  // namespace tier
