// pool_member.cpp - a host's membership of the pool (see pool_member.hpp).
#include "pool/pool_member.hpp"

namespace tier::pool {

using coord::Compare;

PoolMember::PoolMember(coord::Store *store, Keys keys, uint32_t host, std::chrono::seconds ttl)
    : store_(store), keys_(std::move(keys)), host_(host), ttl_(ttl) {}

Status PoolMember::join(uint64_t generation, int64_t pid) {
  Result<coord::Lease> lease = store_->grant_lease(ttl_);
  if (!lease) return std::move(lease).error().context("pool host " + std::to_string(host_));
  coord::Txn t;
  t.compares.push_back(
      {keys_.host(host_), Compare::Target::kCreateRevision, Compare::Op::kEqual, 0, {}});
  t.success.push_back(
      coord::Put{keys_.host(host_), encode(HostRecord{host_, generation, pid}), lease->id});
  t.failure.push_back(coord::Range{keys_.host(host_), false});
  Result<coord::TxnResult> r = store_->txn(t);
  if (!r || !r->succeeded) {
    (void)store_->revoke_lease(lease->id);
    if (!r) return std::move(r).error().context("pool host " + std::to_string(host_));
    std::string who = r->ranges.empty() || r->ranges[0].empty() ? "" : r->ranges[0][0].value;
    return make_error(TIER_EBUSY, "pool host " + std::to_string(host_) + " is already live in " +
                                      store_->describe() + " (" + who +
                                      "): another tierd has this host id");
  }
  lease_ = lease->id;
  lost_ = false;
  demand_written_ = false;
  return {};
}

Status PoolMember::renew() {
  if (!joined()) return {};
  Result<std::chrono::seconds> left = store_->keep_alive(lease_);
  if (!left && left.status() == TIER_ENODEV) {
    lost_ = true;
    return make_error(TIER_ENODEV, "pool host " + std::to_string(host_) + ": lease " +
                                       std::to_string(lease_) +
                                       " expired: the manager fences this host and takes its "
                                       "extents back");
  }
  if (!left) return std::move(left).error();
  return {};
}

Status PoolMember::publish_demand(uint64_t bytes) {
  if (!joined() || (demand_written_ && bytes == demand_)) return {};
  coord::Txn t;
  t.success.push_back(coord::Put{keys_.demand(host_), encode_demand(bytes), lease_});
  Result<coord::TxnResult> r = store_->txn(t);
  if (!r) return std::move(r).error();
  demand_ = bytes;
  demand_written_ = true;
  return {};
}

Status PoolMember::report_decline(const Tag &tag, const std::string &reason) {
  coord::Txn t;
  t.compares.push_back(
      {keys_.giveback(tag), Compare::Target::kValue, Compare::Op::kEqual, 0, "asked"});
  t.success.push_back(coord::Put{keys_.giveback(tag), "declined " + reason, 0});
  Result<coord::TxnResult> r = store_->txn(t);
  if (!r) return std::move(r).error();
  return {};
}

Status PoolMember::leave() {
  if (lease_ == 0) return {};
  Status st = store_->revoke_lease(lease_);
  lease_ = 0;
  if (!st && st.status() == TIER_ENODEV) return {};  // expired already: the same end
  return st;
}

}  // namespace tier::pool
