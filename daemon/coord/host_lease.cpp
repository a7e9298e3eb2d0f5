// host_lease.cpp - see host_lease.hpp.
#include "coord/host_lease.hpp"

#include <optional>

namespace tier::coord {

using Clock = std::chrono::steady_clock;

Result<std::unique_ptr<HostLease>> HostLease::acquire(Store &store, std::string key,
                                                      std::string value, Options options) {
  if (key.empty()) return make_error(TIER_EINVAL, "host lease: empty key");
  if (options.ttl.count() <= 0) return make_error(TIER_EINVAL, "host lease: ttl must be > 0 s");
  Result<Lease> lease = store.grant_lease(options.ttl);
  if (!lease) return std::move(lease).error().context("host lease `" + key + "`");
  Txn t;
  t.compares.push_back(Compare{key, Compare::Target::kCreateRevision, Compare::Op::kEqual, 0, {}});
  t.success.push_back(Put{key, value, lease->id});
  t.success.push_back(Range{key, false});
  t.failure.push_back(Range{key, false});
  Result<TxnResult> r = store.txn(t);
  if (!r || !r->succeeded) {
    (void)store.revoke_lease(lease->id);
    if (!r) return std::move(r).error().context("host lease `" + key + "`");
    std::string holder = "another lease";
    if (!r->ranges.empty() && !r->ranges[0].empty())
      holder = r->ranges[0][0].lease ? "lease " + std::to_string(r->ranges[0][0].lease)
                                     : "no lease (a plain key)";
    return make_error(TIER_EBUSY, "host lease: key `" + key + "` is held by " + holder +
                                      " (an earlier incarnation?); retry after its TTL");
  }
  const Revision rev = r->ranges.at(0).at(0).create_revision;
  return std::unique_ptr<HostLease>(
      new HostLease(store, std::move(key), lease->id, rev, std::move(options)));
}

HostLease::HostLease(Store &store, std::string key, LeaseId lease, Revision rev, Options options)
    : store_(store),
      key_(std::move(key)),
      lease_(lease),
      create_revision_(rev),
      options_(std::move(options)) {
  thread_ = std::thread([this] { refresh_loop(); });
}

HostLease::~HostLease() {
  (void)close();
}

bool HostLease::lost() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lost_;
}

Error HostLease::loss() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loss_;
}

void HostLease::refresh_loop() {
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl) / 3;
  auto last_ok = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, period, [&] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    Result<std::chrono::seconds> r = store_.keep_alive(lease_);
    const auto now = Clock::now();
    std::optional<Error> lost;
    if (r) {
      last_ok = now;
    } else if (r.status() != TIER_EBUSY) {
      lost = std::move(r).error();  // TIER_ENODEV: expired or revoked
    } else if (now - last_ok >= options_.ttl) {
      lost = std::move(r).error().context("no refresh for a whole TTL (" +
                                          std::to_string(options_.ttl.count()) + " s)");
    }
    lock.lock();
    if (lost && !stopping_) {
      lost_ = true;
      loss_ = std::move(*lost).context("host lease `" + key_ + "` lost");
      const Error why = loss_;
      lock.unlock();
      if (options_.on_lost) options_.on_lost(why);
      return;
    }
  }
}

Status HostLease::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return {};
    closed_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (lost()) return {};
  Status s = store_.revoke_lease(lease_);
  if (!s && s.status() == TIER_ENODEV) return {};  // expired meanwhile: the keys are gone
  return s;
}

}  // namespace tier::coord
