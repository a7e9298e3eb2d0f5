// fencing.hpp - generations that fence a zombie host's late writes.
//
// A host's generation lives under one key (e.g. "/pool/gen/<host>") as a decimal number, bumped
// by compare-and-swap each time the host (re)joins the pool or takes a role. Every write the
// host makes on behalf of that incarnation carries guard(key, generation): a compare that the
// key still holds the generation it was given. A host that was declared dead (its lease
// expired, its extents handed on) and then wakes up still holds the old generation, so its
// writes fail their compares (TxnResult::succeeded false) instead of clobbering the new owner's
// state. Bumps from several threads or hosts never hand out the same generation twice.
// Stateless functions over Store; thread-safe as the store is.
#pragma once

#include <string>

#include "coord/store.hpp"

namespace tier::coord::fencing {

// Moves the generation under `key` on by one (from 0 when absent) and returns the new one.
// Retries on a concurrent bump (up to 64 times, then TIER_EBUSY); store errors pass through.
Result<int64_t> bump(Store &store, const std::string &key);

// The generation under `key` (0 when absent). TIER_EPROTO when the value is not a number.
Result<int64_t> current(Store &store, const std::string &key);

// The compare that holds while `key` is still at `generation`.
Compare guard(const std::string &key, int64_t generation);

// `txn` with guard(key, generation) added to its compares: it runs its success branch only
// for the generation's holder.
Result<TxnResult> fenced_txn(Store &store, const std::string &key, int64_t generation, Txn txn);

}  // namespace tier::coord::fencing
