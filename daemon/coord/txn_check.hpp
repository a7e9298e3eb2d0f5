// txn_check.hpp - the argument rules both Store implementations apply before a request leaves
// the caller, so a bad transaction gets the same TIER_EINVAL, with the same message, from the
// embedded store and from etcd (whose own refusals would otherwise arrive as gRPC codes with
// etcd's wording, or not at all).
//
// The rules are etcd v3's: no empty key, at most kMaxTxnOps operations in a branch (etcd's
// default --max-txn-ops), and within one branch no key written twice (two puts of one key, or a
// put inside a deleted range: etcd refuses these as "duplicate key given in txn request").
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "coord/store.hpp"

namespace tier::coord {

inline constexpr size_t kMaxTxnOps = 128;

// The end of the range of keys that start with `prefix` (etcd's range_end): `prefix` with its
// last byte below 0xff incremented and what follows dropped; "\0" (every key >= prefix) when
// every byte is 0xff.
std::string prefix_end(const std::string &prefix);

// True when `key` falls in the range of `d` (the key itself, or every key under its prefix).
bool delete_covers(const Delete &d, const std::string &key);

// TIER_EINVAL naming the first broken rule ("txn success[2]: put: empty key"), or ok.
Status check_txn(const Txn &txn);

}  // namespace tier::coord
