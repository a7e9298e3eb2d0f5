// election.cpp - see election.hpp.
#include "coord/election.hpp"

#include <algorithm>
#include <cstdio>

namespace tier::coord {

using Clock = std::chrono::steady_clock;

Election::Election(Store &store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}

Status Election::campaign(LeaseId lease, const std::string &value) {
  if (prefix_.empty()) return make_error(TIER_EINVAL, "election: empty prefix");
  if (lease <= 0) return make_error(TIER_EINVAL, "election: campaign needs a lease");
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(lease));
  const std::string key = prefix_ + hex;
  // Create the key if absent; if this lease already campaigns, update its value in place.
  Txn t;
  t.compares.push_back(Compare{key, Compare::Target::kCreateRevision, Compare::Op::kEqual, 0, {}});
  t.success.push_back(Put{key, value, lease});
  t.success.push_back(Range{key, false});
  t.failure.push_back(Put{key, value, lease});
  t.failure.push_back(Range{key, false});
  Result<TxnResult> r = store_.txn(t);
  if (!r) return std::move(r).error().context("election `" + prefix_ + "`: campaign");
  if (r->ranges.empty() || r->ranges[0].empty())
    return make_error(TIER_EPROTO, "election `" + prefix_ + "`: campaign key vanished");
  key_ = key;
  create_revision_ = r->ranges[0][0].create_revision;
  return {};
}

Result<bool> Election::wait_leader(std::chrono::milliseconds timeout) {
  if (key_.empty()) return make_error(TIER_EINVAL, "election: wait_leader before campaign");
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    Txn read;
    read.success.push_back(Range{prefix_, true});
    Result<TxnResult> r = store_.txn(read);
    if (!r) return std::move(r).error().context("election `" + prefix_ + "`");
    const KeyValue *mine = nullptr, *pred = nullptr;
    for (const KeyValue &kv : r->ranges.at(0)) {
      if (kv.key == key_ && kv.create_revision == create_revision_) mine = &kv;
      if (kv.create_revision < create_revision_ &&
          (!pred || kv.create_revision > pred->create_revision))
        pred = &kv;
    }
    if (!mine)
      return make_error(TIER_ENODEV, "election `" + prefix_ + "`: candidacy `" + key_ +
                                         "` is gone (lease expired or resigned)");
    if (!pred) return true;
    // Wait for the predecessor's deletion (events are by prefix: skip longer keys), then
    // re-read: the candidate before it may have gone too, or we lead now.
    const std::string pred_key = pred->key;
    Revision seen = r->revision;
    for (bool gone = false; !gone;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      Result<std::vector<Event>> ev = store_.wait_events(pred_key, seen, left);
      if (!ev) {
        if (ev.status() == TIER_EBUSY && ev.error().message.find("compacted") != std::string::npos)
          break;  // history gone: re-read the candidates
        return std::move(ev).error().context("election `" + prefix_ + "`");
      }
      if (ev->empty()) return false;
      for (const Event &e : *ev) {
        gone |= e.type == Event::Type::kDelete && e.kv.key == pred_key;
        seen = std::max(seen, e.kv.mod_revision);
      }
    }
  }
}

Status Election::resign() {
  if (key_.empty()) return {};
  Txn t;
  t.compares.push_back(
      Compare{key_, Compare::Target::kCreateRevision, Compare::Op::kEqual, create_revision_, {}});
  t.success.push_back(Delete{key_, false});
  Result<TxnResult> r = store_.txn(t);
  if (!r) return std::move(r).error().context("election `" + prefix_ + "`: resign");
  key_.clear();
  create_revision_ = 0;
  return {};
}

Result<std::optional<KeyValue>> Election::leader() {
  if (prefix_.empty()) return make_error(TIER_EINVAL, "election: empty prefix");
  Result<std::vector<KeyValue>> kvs = store_.get(prefix_, true);
  if (!kvs) return std::move(kvs).error().context("election `" + prefix_ + "`: leader");
  std::optional<KeyValue> best;
  for (KeyValue &kv : *kvs)
    if (!best || kv.create_revision < best->create_revision) best = std::move(kv);
  return best;
}

}  // namespace tier::coord
