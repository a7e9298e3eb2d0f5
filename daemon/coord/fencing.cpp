// fencing.cpp - see fencing.hpp.
#include "coord/fencing.hpp"

#include <charconv>

namespace tier::coord::fencing {

namespace {

Result<int64_t> parse(const std::string &key, const std::string &value) {
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 0)
    return make_error(TIER_EPROTO, "fencing: `" + key + "` holds `" + value.substr(0, 40) +
                                       "`, not a generation");
  return n;
}

}  // namespace

Result<int64_t> current(Store &store, const std::string &key) {
  if (key.empty()) return make_error(TIER_EINVAL, "fencing: empty key");
  Result<std::vector<KeyValue>> kvs = store.get(key, false);
  if (!kvs) return std::move(kvs).error().context("fencing `" + key + "`");
  if (kvs->empty()) return int64_t{0};
  return parse(key, kvs->front().value);
}

Result<int64_t> bump(Store &store, const std::string &key) {
  if (key.empty()) return make_error(TIER_EINVAL, "fencing: empty key");
  for (int attempt = 0; attempt < 64; ++attempt) {
    Txn read;
    read.success.push_back(Range{key, false});
    Result<TxnResult> cur = store.txn(read);
    if (!cur) return std::move(cur).error().context("fencing `" + key + "`");
    int64_t gen = 0;
    Revision mod = 0;  // 0: absent, so the compare below is "still absent"
    if (!cur->ranges.at(0).empty()) {
      const KeyValue &kv = cur->ranges[0][0];
      Result<int64_t> g = parse(key, kv.value);
      if (!g) return std::move(g).error();
      gen = *g;
      mod = kv.mod_revision;
    }
    Txn t;
    t.compares.push_back(Compare{key, Compare::Target::kModRevision, Compare::Op::kEqual, mod, {}});
    t.success.push_back(Put{key, std::to_string(gen + 1), 0});
    Result<TxnResult> w = store.txn(t);
    if (!w) return std::move(w).error().context("fencing `" + key + "`: bump");
    if (w->succeeded) return gen + 1;
  }
  return make_error(TIER_EBUSY, "fencing `" + key + "`: 64 concurrent bumps in a row; retry");
}

Compare guard(const std::string &key, int64_t generation) {
  Compare c;
  c.key = key;
  c.target = Compare::Target::kValue;
  c.op = Compare::Op::kEqual;
  c.value = std::to_string(generation);
  return c;
}

Result<TxnResult> fenced_txn(Store &store, const std::string &key, int64_t generation, Txn txn) {
  txn.compares.push_back(guard(key, generation));
  return store.txn(txn);
}

}  // namespace tier::coord::fencing
