// txn_check.cpp - see txn_check.hpp.
#include "coord/txn_check.hpp"

#include <set>

namespace tier::coord {

namespace {

const char *target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::kVersion:
      return "version";
    case Compare::Target::kCreateRevision:
      return "create_revision";
    case Compare::Target::kModRevision:
      return "mod_revision";
    case Compare::Target::kValue:
      return "value";
  }
  return "?";
}

Status check_branch(const std::vector<Op> &ops, const char *branch) {
  const std::string where = std::string("txn ") + branch;
  if (ops.size() > kMaxTxnOps)
    return make_error(TIER_EINVAL, where + ": " + std::to_string(ops.size()) +
                                       " operations, at most " + std::to_string(kMaxTxnOps));
  std::set<std::string> puts;
  std::vector<const Delete *> deletes;
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (const Put *p = std::get_if<Put>(&ops[i])) {
      if (p->key.empty()) return make_error(TIER_EINVAL, at + ": put: empty key");
      if (p->lease < 0)
        return make_error(TIER_EINVAL, at + ": put `" + p->key + "`: negative lease id");
      if (!puts.insert(p->key).second)
        return make_error(TIER_EINVAL, at + ": put `" + p->key + "`: key written twice in one txn");
    } else if (const Delete *d = std::get_if<Delete>(&ops[i])) {
      if (d->key.empty()) return make_error(TIER_EINVAL, at + ": delete: empty key");
      deletes.push_back(d);
    } else if (std::get<Range>(ops[i]).key.empty()) {
      return make_error(TIER_EINVAL, at + ": range: empty key");
    }
  }
  for (const Delete *d : deletes)
    for (const std::string &k : puts)
      if (delete_covers(*d, k))
        return make_error(TIER_EINVAL, where + ": put `" + k + "` and a delete of `" + d->key +
                                           "` in one txn (etcd refuses overlapping writes)");
  return {};
}

}  // namespace

std::string prefix_end(const std::string &prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto &last = reinterpret_cast<unsigned char &>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

bool delete_covers(const Delete &d, const std::string &key) {
  if (!d.prefix) return key == d.key;
  return key.compare(0, d.key.size(), d.key) == 0;
}

Status check_txn(const Txn &txn) {
  for (size_t i = 0; i < txn.compares.size(); ++i) {
    const Compare &c = txn.compares[i];
    const std::string at = "txn compare[" + std::to_string(i) + "] on " + target_name(c.target);
    if (c.key.empty()) return make_error(TIER_EINVAL, at + ": empty key");
  }
  if (txn.compares.size() > kMaxTxnOps)
    return make_error(TIER_EINVAL, "txn: " + std::to_string(txn.compares.size()) +
                                       " compares, at most " + std::to_string(kMaxTxnOps));
  if (Status s = check_branch(txn.success, "success"); !s) return s;
  return check_branch(txn.failure, "failure");
}

}  // namespace tier::coord
