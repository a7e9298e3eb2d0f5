// pool_manager.cpp - the fabric manager's role (see pool_manager.hpp for the step).
#include "pool/pool_manager.hpp"

#include <algorithm>
#include <set>

namespace tier::pool {

using coord::Compare;

namespace {

struct Stored {
  ExtentRecord rec;
  coord::Revision mod = 0;
};

bool starts_with(const std::string &s, const std::string &p) {
  return s.compare(0, p.size(), p) == 0;
}

}  // namespace

PoolManager::PoolManager(coord::Store *store, PoolDevice *device, ManagerOptions options)
    : store_(store), dev_(device), opt_(std::move(options)) {}

std::string PoolManager::role_value() const {
  return "host=" + std::to_string(opt_.host);
}

Compare PoolManager::holds_role() const {
  return {opt_.keys.manager(), Compare::Target::kValue, Compare::Op::kEqual, 0, role_value()};
}

Result<coord::TxnResult> PoolManager::run(coord::Txn t) {
  t.compares.push_back(holds_role());
  return store_->txn(t);
}

Result<bool> PoolManager::acquire(coord::LeaseId lease) {
  coord::Txn t;
  t.compares.push_back(
      {opt_.keys.manager(), Compare::Target::kCreateRevision, Compare::Op::kEqual, 0, {}});
  t.success.push_back(coord::Put{opt_.keys.manager(), role_value(), lease});
  t.failure.push_back(coord::Range{opt_.keys.manager(), false});
  Result<coord::TxnResult> r = store_->txn(t);
  if (!r) return std::move(r).error();
  if (r->succeeded) return true;
  return !r->ranges.empty() && !r->ranges[0].empty() && r->ranges[0][0].value == role_value();
}

Result<ManagerStep> PoolManager::step(std::chrono::steady_clock::time_point now) {
  ManagerStep out;
  const Keys &k = opt_.keys;
  Result<std::vector<coord::KeyValue>> all = store_->get(k.prefix, true);
  if (!all) return std::move(all).error();

  std::map<uint32_t, HostRecord> live;
  std::map<uint32_t, uint64_t> demand;
  std::map<Tag, Stored> records;
  std::map<Tag, coord::KeyValue> givebacks;
  for (const coord::KeyValue &kv : *all) {
    if (kv.key == k.manager()) {
      out.manager = kv.value == role_value();
    } else if (starts_with(kv.key, k.hosts())) {
      Result<HostRecord> h = decode_host(kv.key, k.hosts(), kv.value);
      if (!h) return std::move(h).error();
      live[h->host] = *h;
    } else if (starts_with(kv.key, k.demands())) {
      Result<uint32_t> id = host_of_key(kv.key, k.demands());
      if (!id) return std::move(id).error();
      Result<uint64_t> d = decode_demand(kv.key, kv.value);
      if (!d) return std::move(d).error();
      demand[*id] = *d;
    } else if (starts_with(kv.key, k.extents())) {
      Result<ExtentRecord> r = decode_extent(kv.key, k.extents(), kv.value);
      if (!r) return std::move(r).error();
      records[r->tag] = {*r, kv.mod_revision};
    } else if (starts_with(kv.key, k.givebacks())) {
      Result<Tag> t = tag_of_key(kv.key, k.givebacks());
      if (!t) return std::move(t).error();
      givebacks[*t] = kv;
    }
  }
  if (!out.manager) return out;

  Result<DeviceTable> table = dev_->table();
  if (!table) return std::move(table).error();
  std::map<Tag, Extent> on_device;
  for (const Extent &e : table->extents) on_device[e.tag] = e;

  // 1. Reconcile the store with the device.
  for (auto it = records.begin(); it != records.end();) {
    const auto &[tag, s] = *it;
    if (on_device.count(tag)) {
      ++it;
      continue;
    }
    coord::Txn t;
    t.compares.push_back(
        {k.extent(tag), Compare::Target::kModRevision, Compare::Op::kEqual, s.mod, {}});
    t.success.push_back(coord::Delete{k.extent(tag), false});
    t.success.push_back(coord::Delete{k.giveback(tag), false});
    Result<coord::TxnResult> r = run(t);
    if (!r) return std::move(r).error();
    givebacks.erase(tag);
    declined_at_.erase(tag);
    it = records.erase(it);
  }
  for (const auto &[tag, e] : on_device) {
    if (records.count(tag)) continue;
    ExtentRecord rec{tag, e.host, e.offset, e.length, e.state == ExtentState::kReleasing};
    coord::Txn t;
    t.compares.push_back(
        {k.extent(tag), Compare::Target::kCreateRevision, Compare::Op::kEqual, 0, {}});
    t.success.push_back(coord::Put{k.extent(tag), encode(rec), 0});
    Result<coord::TxnResult> r = run(t);
    if (!r) return std::move(r).error();
    if (r->succeeded) records[tag] = {rec, r->revision};
  }
  // A release the device shows accepted again was declined by its host.
  for (auto &[tag, s] : records) {
    auto d = on_device.find(tag);
    if (!s.rec.releasing || d == on_device.end() || d->second.state != ExtentState::kAccepted)
      continue;
    ExtentRecord rec = s.rec;
    rec.releasing = false;
    coord::Txn t;
    t.compares.push_back(
        {k.extent(tag), Compare::Target::kModRevision, Compare::Op::kEqual, s.mod, {}});
    t.success.push_back(coord::Put{k.extent(tag), encode(rec), 0});
    Result<coord::TxnResult> r = run(t);
    if (!r) return std::move(r).error();
    if (r->succeeded) s = {rec, r->revision};
    declined_at_.emplace(tag, now);
    auto g = givebacks.find(tag);
    out.declines.push_back(tag.text() + ": " +
                           (g != givebacks.end() && starts_with(g->second.value, "declined ")
                                ? g->second.value.substr(9)
                                : std::string("declined (no reason reported yet)")));
  }
  for (auto it = declined_at_.begin(); it != declined_at_.end();) {
    if (now - it->second < opt_.decline_cooldown) {
      ++it;
      continue;
    }
    coord::Txn t;
    t.success.push_back(coord::Delete{k.giveback(it->first), false});
    Result<coord::TxnResult> r = run(t);
    if (!r) return std::move(r).error();
    givebacks.erase(it->first);
    it = declined_at_.erase(it);
  }

  // 2. Fence the hosts that hold extents without a live lease.
  std::set<uint32_t> holders;
  for (const auto &[tag, e] : on_device) holders.insert(e.host);
  for (uint32_t h : holders) {
    if (live.count(h)) continue;
    Result<std::vector<Extent>> taken = dev_->fence_host(h);
    if (!taken) return std::move(taken).error().context("fencing pool host " + std::to_string(h));
    Result<uint64_t> gen = dev_->host_generation(h);
    if (!gen) return std::move(gen).error();
    coord::Txn t;
    for (const Extent &e : *taken) {
      t.success.push_back(coord::Delete{k.extent(e.tag), false});
      t.success.push_back(coord::Delete{k.giveback(e.tag), false});
      out.reclaimed_bytes += e.length;
      on_device.erase(e.tag);
      records.erase(e.tag);
      givebacks.erase(e.tag);
    }
    t.success.push_back(coord::Put{k.fenced(h), "generation=" + std::to_string(*gen), 0});
    Result<coord::TxnResult> r = run(t);
    if (!r) return std::move(r).error();
    out.fenced.push_back(h);
  }
  table->extents.clear();
  for (const auto &[tag, e] : on_device) table->extents.push_back(e);

  // 3. Grants from free media.
  std::map<uint32_t, uint64_t> held, releasing;
  for (const auto &[tag, e] : on_device)
    (e.state == ExtentState::kReleasing ? releasing : held)[e.host] += e.length;
  const uint64_t align = dev_->alignment();
  uint64_t unmet = 0;
  for (const auto &[h, rec] : live) {
    const uint64_t want_total = demand.count(h) ? demand[h] : 0;
    if (want_total <= held[h]) continue;
    uint64_t want = (want_total - held[h] + align - 1) / align * align;
    uint64_t used = 0;
    for (const Extent &e : table->extents) used += e.length;
    const uint64_t free = dev_->media_bytes() - used;
    const uint64_t grant = std::min(want, free / align * align);
    unmet += want - grant;
    if (grant == 0) continue;
    Result<std::vector<Extent>> pick =
        choose_free(*table, dev_->media_bytes(), align, grant, opt_.max_extents_per_grant,
                    opt_.extent_bytes / align * align);
    if (!pick) return std::move(pick).error();
    uint64_t picked = 0;
    coord::Txn t;
    for (const Extent &e : *pick) {
      picked += e.length;
      t.compares.push_back(
          {k.extent(e.tag), Compare::Target::kCreateRevision, Compare::Op::kEqual, 0, {}});
      t.success.push_back(coord::Put{k.extent(e.tag),
                                     encode(ExtentRecord{e.tag, h, e.offset, e.length, false}), 0});
    }
    unmet += grant - picked;  // fewer pieces than needed: the rest at the next step
    Result<coord::TxnResult> r = run(t);
    if (!r) return std::move(r).error();
    if (!r->succeeded) continue;  // the role moved, or a tag collided: the next step rereads
    Result<std::vector<Extent>> added = dev_->add_extents(h, *pick);
    if (!added) {
      // The records name extents the device does not have: take them back now rather than
      // leave them to the next step's reconcile.
      coord::Txn undo;
      for (const Extent &e : *pick) undo.success.push_back(coord::Delete{k.extent(e.tag), false});
      (void)run(undo);
      return std::move(added).error().context("granting to pool host " + std::to_string(h));
    }
    for (const Extent &e : *added) {
      table->extents.push_back(e);
      on_device[e.tag] = e;
      out.granted.push_back(e);
    }
    held[h] += picked;
  }

  // 4. Rebalance: ask hosts with a surplus for what free media could not give.
  uint64_t in_flight = 0;
  for (const auto &[h, b] : releasing) in_flight += b;
  out.unmet_bytes = unmet;
  if (unmet <= in_flight) return out;
  uint64_t to_ask = unmet - in_flight;
  std::vector<std::pair<uint64_t, uint32_t>> surplus;  // (bytes, host), largest first
  for (const auto &[h, b] : held) {
    const uint64_t d = live.count(h) && demand.count(h) ? demand[h] : 0;
    if (b > d) surplus.emplace_back(b - d, h);
  }
  std::sort(surplus.rbegin(), surplus.rend());
  for (auto &[spare, h] : surplus) {
    for (const auto &[tag, e] : on_device) {
      if (to_ask == 0) return out;
      if (e.host != h || e.state != ExtentState::kAccepted || e.length > spare) continue;
      if (givebacks.count(tag) || declined_at_.count(tag)) continue;
      auto s = records.find(tag);
      if (s == records.end()) continue;
      ExtentRecord rec = s->second.rec;
      rec.releasing = true;
      coord::Txn t;
      t.compares.push_back(
          {k.giveback(tag), Compare::Target::kCreateRevision, Compare::Op::kEqual, 0, {}});
      t.compares.push_back(
          {k.extent(tag), Compare::Target::kModRevision, Compare::Op::kEqual, s->second.mod, {}});
      t.success.push_back(coord::Put{k.giveback(tag), "asked", 0});
      t.success.push_back(coord::Put{k.extent(tag), encode(rec), 0});
      Result<coord::TxnResult> r = run(t);
      if (!r) return std::move(r).error();
      if (!r->succeeded) continue;
      if (Status st = dev_->request_release(tag); !st)
        return std::move(st).error().context("asking pool host " + std::to_string(h) +
                                             " to give back");
      out.asked.push_back(e);
      spare -= e.length;
      to_ask -= std::min(to_ask, e.length);
    }
  }
  return out;
}

}  // namespace tier::pool
