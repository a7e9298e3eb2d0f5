// sequences.cpp - per-sequence block tables over the block pool (see block_pool.hpp).
//
// A table is the ordered list of blocks one request holds a reference on: its shared prompt
// prefix (found by hash) followed by the blocks it allocated. Every call here takes the pool
// mutex once, so a table changes atomically with the references it stands for.
#include <algorithm>
#include <string>

#include "kv/block_pool.hpp"

namespace tier::kv {

namespace {

Error unknown_seq(const char *call, uint64_t seq) {
  return make_error(TIER_EINVAL, std::string(call) + ": no sequence " + std::to_string(seq));
}

}  // namespace

Status BlockPool::seq_share(uint64_t seq, const uint64_t *hashes, size_t n, tier_kv_block *ids,
                            void **addrs, size_t *found) {
  if (!found || (n && !hashes))
    return make_error(TIER_EINVAL, "tier_kv_seq_share: hashes or found is NULL");
  std::vector<tier_kv_block> got(n);
  std::lock_guard lock(mu_);
  std::vector<tier_kv_block> &table = seqs_[seq];
  table.reserve(table.size() + n);  // before any reference is taken: no throw after it
  if (Status s = lookup_locked(hashes, n, got.data(), addrs, found); !s) return s;
  table.insert(table.end(), got.begin(), got.begin() + static_cast<ptrdiff_t>(*found));
  if (ids) std::copy(got.begin(), got.begin() + static_cast<ptrdiff_t>(*found), ids);
  return {};
}

Status BlockPool::seq_extend(uint64_t seq, size_t n, tier_kv_block *ids, void **addrs) {
  std::vector<tier_kv_block> got(n);
  std::lock_guard lock(mu_);
  auto [it, created] = seqs_.try_emplace(seq);
  it->second.reserve(it->second.size() + n);
  Status s = alloc_locked(n, got.data(), addrs);
  if (!s) {
    if (created) seqs_.erase(it);  // a refused first extend leaves no trace
    return s;
  }
  it->second.insert(it->second.end(), got.begin(), got.end());
  if (ids) std::copy(got.begin(), got.end(), ids);
  return {};
}

Status BlockPool::seq_blocks(uint64_t seq, tier_kv_block *ids, size_t cap, size_t *count) {
  if (!count || (cap && !ids))
    return make_error(TIER_EINVAL, "tier_kv_seq_blocks: ids or count is NULL");
  std::lock_guard lock(mu_);
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return unknown_seq("tier_kv_seq_blocks", seq);
  *count = it->second.size();
  std::copy_n(it->second.begin(), std::min(cap, it->second.size()), ids);
  return {};
}

Status BlockPool::seq_pin(uint64_t seq, bool pin) {
  const char *call = pin ? "tier_kv_seq_pin" : "tier_kv_seq_unpin";
  std::lock_guard lock(mu_);
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return unknown_seq(call, seq);
  return pin_locked(it->second.data(), it->second.size(), pin, call);
}

Status BlockPool::seq_touch(uint64_t seq, uint32_t reads, uint32_t writes) {
  std::lock_guard lock(mu_);
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return unknown_seq("tier_kv_seq_touch", seq);
  touch(it->second.data(), it->second.size(), reads, writes);
  return {};
}

Status BlockPool::seq_free(uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return unknown_seq("tier_kv_seq_free", seq);
  if (Status s = release_locked(it->second.data(), it->second.size(), "tier_kv_seq_free"); !s)
    return s;
  seqs_.erase(it);
  return {};
}

}  // namespace tier::kv
