// embedded_store.cpp - see embedded_store.hpp.
#include "coord/embedded_store.hpp"

#include <algorithm>
#include <random>

#include "coord/txn_check.hpp"

namespace tier::coord {

namespace {

template <class T>
bool apply_op(Compare::Op op, const T &have, const T &want) {
  switch (op) {
    case Compare::Op::kEqual:
      return have == want;
    case Compare::Op::kNotEqual:
      return have != want;
    case Compare::Op::kLess:
      return have < want;
    case Compare::Op::kGreater:
      return have > want;
  }
  return false;
}

bool key_in_prefix(const std::string &key, const std::string &prefix) {
  return key.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

EmbeddedStore::EmbeddedStore(Options options) : options_{std::max<size_t>(options.history, 1)} {
  // Lease ids start at a random point, as etcd's do, so that an id kept from an earlier store
  // (a restarted process) is unlikely to name a lease of this one.
  std::random_device rd;
  next_lease_ = static_cast<LeaseId>((uint64_t{rd()} << 20 | rd()) & 0x3fffffffffffULL) + 1;
}

void EmbeddedStore::expire_locked(Clock::time_point now) {
  for (auto it = leases_.begin(); it != leases_.end();) {
    auto next = std::next(it);
    if (it->second.deadline <= now) drop_lease_locked(it);
    it = next;
  }
}

void EmbeddedStore::drop_lease_locked(std::map<LeaseId, LeaseState>::iterator it) {
  const std::set<std::string> keys = std::move(it->second.keys);
  leases_.erase(it);
  if (keys.empty()) return;  // etcd: revoking a lease with no keys writes nothing
  const Revision rev = revision_ + 1;
  for (const std::string &k : keys) {
    auto kit = kv_.find(k);
    if (kit != kv_.end()) delete_key_locked(kit, rev);
  }
  revision_ = rev;
  trim_history_locked();
  changed_.notify_all();
}

std::vector<KeyValue> EmbeddedStore::range_locked(const Range &r) const {
  std::vector<KeyValue> out;
  if (!r.prefix) {
    auto it = kv_.find(r.key);
    if (it != kv_.end()) out.push_back(it->second);
    return out;
  }
  for (auto it = kv_.lower_bound(r.key); it != kv_.end() && key_in_prefix(it->first, r.key); ++it)
    out.push_back(it->second);
  return out;
}

bool EmbeddedStore::put_locked(const Put &p, Revision rev) {
  auto [it, fresh] = kv_.try_emplace(p.key);
  KeyValue &kv = it->second;
  if (fresh) {
    kv.key = p.key;
    kv.create_revision = rev;
    kv.version = 0;
  }
  if (kv.lease != 0 && kv.lease != p.lease) {
    auto lit = leases_.find(kv.lease);
    if (lit != leases_.end()) lit->second.keys.erase(p.key);
  }
  if (p.lease != 0) leases_.at(p.lease).keys.insert(p.key);  // checked by txn()
  kv.value = p.value;
  kv.mod_revision = rev;
  kv.version += 1;
  kv.lease = p.lease;
  record_locked(Event{Event::Type::kPut, kv});
  return true;
}

bool EmbeddedStore::delete_locked(const Delete &d, Revision rev) {
  if (!d.prefix) {
    auto it = kv_.find(d.key);
    if (it == kv_.end()) return false;
    delete_key_locked(it, rev);
    return true;
  }
  bool any = false;
  for (auto it = kv_.lower_bound(d.key); it != kv_.end() && key_in_prefix(it->first, d.key);) {
    auto next = std::next(it);
    delete_key_locked(it, rev);
    any = true;
    it = next;
  }
  return any;
}

void EmbeddedStore::delete_key_locked(std::map<std::string, KeyValue>::iterator it, Revision rev) {
  if (it->second.lease != 0) {
    auto lit = leases_.find(it->second.lease);
    if (lit != leases_.end()) lit->second.keys.erase(it->first);
  }
  Event e{Event::Type::kDelete, KeyValue{}};
  e.kv.key = it->first;
  e.kv.mod_revision = rev;
  kv_.erase(it);
  record_locked(std::move(e));
}

bool EmbeddedStore::compare_locked(const Compare &c) const {
  auto it = kv_.find(c.key);
  if (it == kv_.end()) {
    // etcd: a value compare on a missing key fails whatever the operator; the numeric targets
    // compare against zeros.
    if (c.target == Compare::Target::kValue) return false;
    return apply_op<int64_t>(c.op, 0, c.number);
  }
  const KeyValue &kv = it->second;
  switch (c.target) {
    case Compare::Target::kVersion:
      return apply_op(c.op, kv.version, c.number);
    case Compare::Target::kCreateRevision:
      return apply_op(c.op, kv.create_revision, c.number);
    case Compare::Target::kModRevision:
      return apply_op(c.op, kv.mod_revision, c.number);
    case Compare::Target::kValue:
      return apply_op(c.op, kv.value, c.value);
  }
  return false;
}

void EmbeddedStore::record_locked(Event e) {
  history_.push_back(std::move(e));
}

void EmbeddedStore::trim_history_locked() {
  // Whole revisions only, so that compacted_ is exact: every event above it is still here.
  const Revision keep_from = revision_ - static_cast<Revision>(options_.history) + 1;
  while (!history_.empty() && history_.front().kv.mod_revision < keep_from) {
    compacted_ = std::max(compacted_, history_.front().kv.mod_revision);
    history_.pop_front();
  }
}

Result<TxnResult> EmbeddedStore::txn(const Txn &t) {
  if (Status s = check_txn(t); !s) return std::move(s).error();
  std::lock_guard<std::mutex> lock(mu_);
  expire_locked(Clock::now());
  TxnResult out;
  out.succeeded = std::all_of(t.compares.begin(), t.compares.end(),
                              [&](const Compare &c) { return compare_locked(c); });
  const std::vector<Op> &ops = out.succeeded ? t.success : t.failure;
  // etcd checks a put's lease before applying anything: the whole txn fails, nothing written.
  for (const Op &op : ops)
    if (const Put *p = std::get_if<Put>(&op); p && p->lease != 0 && !leases_.count(p->lease))
      return make_error(TIER_ENODEV, "txn: put `" + p->key + "`: lease " +
                                         std::to_string(p->lease) + " not found (expired?)");
  const Revision rev = revision_ + 1;
  bool changed = false;
  for (const Op &op : ops) {
    if (const Put *p = std::get_if<Put>(&op)) {
      changed |= put_locked(*p, rev);
    } else if (const Delete *d = std::get_if<Delete>(&op)) {
      changed |= delete_locked(*d, rev);
    } else {
      out.ranges.push_back(range_locked(std::get<Range>(op)));
    }
  }
  if (changed) {
    revision_ = rev;
    trim_history_locked();
    changed_.notify_all();
  }
  out.revision = revision_;
  return out;
}

Result<std::vector<KeyValue>> EmbeddedStore::get(const std::string &key, bool prefix) {
  if (key.empty()) return make_error(TIER_EINVAL, "get: empty key");
  std::lock_guard<std::mutex> lock(mu_);
  expire_locked(Clock::now());
  return range_locked(Range{key, prefix});
}

Result<Lease> EmbeddedStore::grant_lease(std::chrono::seconds ttl) {
  if (ttl.count() <= 0)
    return make_error(TIER_EINVAL,
                      "grant_lease: ttl " + std::to_string(ttl.count()) + " s, must be > 0");
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  expire_locked(now);
  const LeaseId id = next_lease_++;
  leases_[id] = LeaseState{ttl, now + ttl, {}};
  return Lease{id, ttl};
}

Result<std::chrono::seconds> EmbeddedStore::keep_alive(LeaseId id) {
  if (id <= 0) return make_error(TIER_EINVAL, "keep_alive: lease id " + std::to_string(id));
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  expire_locked(now);
  auto it = leases_.find(id);
  if (it == leases_.end())
    return make_error(TIER_ENODEV,
                      "keep_alive: lease " + std::to_string(id) + " not found (expired?)");
  it->second.deadline = now + it->second.ttl;
  return it->second.ttl;
}

Status EmbeddedStore::revoke_lease(LeaseId id) {
  if (id <= 0) return make_error(TIER_EINVAL, "revoke_lease: lease id " + std::to_string(id));
  std::lock_guard<std::mutex> lock(mu_);
  expire_locked(Clock::now());
  auto it = leases_.find(id);
  if (it == leases_.end())
    return make_error(TIER_ENODEV,
                      "revoke_lease: lease " + std::to_string(id) + " not found (expired?)");
  drop_lease_locked(it);
  return {};
}

Result<std::vector<Event>> EmbeddedStore::wait_events(const std::string &prefix, Revision after,
                                                      std::chrono::milliseconds timeout) {
  if (prefix.empty()) return make_error(TIER_EINVAL, "wait_events: empty prefix");
  if (after < 0)
    return make_error(TIER_EINVAL, "wait_events: revision " + std::to_string(after) + " < 0");
  if (timeout.count() < 0) return make_error(TIER_EINVAL, "wait_events: negative timeout");
  const auto deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const auto now = Clock::now();
    expire_locked(now);
    if (after < compacted_)
      return make_error(TIER_EBUSY, "wait_events: revision " + std::to_string(after + 1) +
                                        " is compacted (history starts after revision " +
                                        std::to_string(compacted_) + "); re-read the prefix");
    std::vector<Event> out;
    // The history is in revision order: find the first event after `after` by binary search.
    auto first = std::partition_point(history_.begin(), history_.end(),
                                      [&](const Event &e) { return e.kv.mod_revision <= after; });
    for (auto it = first; it != history_.end(); ++it)
      if (key_in_prefix(it->kv.key, prefix)) out.push_back(*it);
    if (!out.empty() || now >= deadline) return out;
    // Sleep until a write, the deadline, or the next lease expiry (which writes deletes).
    auto wake = deadline;
    for (const auto &[id, l] : leases_)
      if (!l.keys.empty()) wake = std::min(wake, l.deadline);
    changed_.wait_until(lock, wake);
  }
}

}  // namespace tier::coord
