// kv_engine.cpp - see kv_engine.hpp.
#include "kv_engine.hpp"

#include <algorithm>

#include "memory_io.hpp"

namespace serve_demo {

namespace {

std::string api_error(const char *call) {
  return std::string(call) + ": " + tier_last_error();
}

}  // namespace

KvEngine::KvEngine(tier_kv_pool *pool, const tier::workloads::Trace &trace, const Options &o,
                   Accounting *acct)
    : pool_(pool), trace_(trace), o_(o), acct_(acct), block_bytes_(uint64_t{o.block_mib} << 20) {
  limit_ =
      o.requests ? std::min<uint64_t>(o.requests, trace.requests.size()) : trace.requests.size();
}

bool KvEngine::done() const {
  return running_.empty() && (stop_ || next_ >= limit_);
}

uint64_t KvEngine::available() const {
  tier_kv_pool_stats s{};
  s.size = sizeof s;
  if (tier_kv_pool_stats_get(pool_, &s) != TIER_OK) return 0;
  const uint64_t can = uint64_t{s.free} + s.cached + (s.max_blocks - s.blocks);
  return can > promised_ ? can - promised_ : 0;
}

void KvEngine::read_block(tier_kv_block id, uint64_t stamp) {
  tier_kv_block_info info{};
  info.size = sizeof info;
  if (tier_kv_block_info_get(pool_, id, &info) != TIER_OK) return;
  acct_->kv_read(info.node, info.tier, block_bytes_);
  c_.bad_pages += check_stamped(info.addr, block_bytes_, stamp);
}

void KvEngine::write_block(tier_kv_block id, uint64_t stamp, uint64_t bytes) {
  tier_kv_block_info info{};
  info.size = sizeof info;
  if (tier_kv_block_info_get(pool_, id, &info) != TIER_OK) return;
  acct_->kv_write(info.node, info.tier, bytes);
  write_stamped(info.addr, bytes, stamp);
}

bool KvEngine::admit(std::string *error) {
  if (stop_ || next_ >= limit_ || running_.size() >= o_.batch) return false;
  const tier::workloads::Request &r = trace_.requests[next_];
  const uint64_t n = r.hash_ids.size();
  const auto tail =
      static_cast<uint32_t>((r.output_length + kTokensPerBlock - 1) / kTokensPerBlock);
  tier_kv_pool_stats s{};
  s.size = sizeof s;
  if (tier_kv_pool_stats_get(pool_, &s) != TIER_OK) return false;
  if (n + tail > s.max_blocks) {  // could never fit: skip it, as a server would reject it
    ++next_;
    ++c_.skipped;
    return true;
  }
  // Pessimistic: as if no block were shared (a hit on a cached block costs one cached block).
  if (n + tail > available()) return false;
  Seq seq{next_, &r, 0, tail, 0, TIER_KV_NO_BLOCK, {}};
  ++next_;
  if (!prefill(seq, error)) return false;
  promised_ += tail;
  running_.push_back(std::move(seq));
  ++c_.admitted;
  return true;
}

bool KvEngine::prefill(Seq &s, std::string *error) {
  const std::vector<uint64_t> &h = s.req->hash_ids;
  size_t found = 0;
  std::vector<tier_kv_block> ids(h.size());
  if (tier_kv_seq_share(pool_, s.id, h.data(), h.size(), ids.data(), nullptr, &found) != TIER_OK) {
    *error = api_error("tier_kv_seq_share");
    return false;
  }
  if (tier_kv_seq_extend(pool_, s.id, h.size() - found, ids.data() + found, nullptr) != TIER_OK) {
    *error = api_error("tier_kv_seq_extend");
    return false;
  }
  s.stamps.assign(h.begin(), h.end());
  if (tier_kv_seq_pin(pool_, s.id) != TIER_OK) {
    *error = api_error("tier_kv_seq_pin");
    return false;
  }
  // Shared blocks are read (the prefix is not recomputed); new ones are computed and written,
  // then published so that later prompts with the same prefix find them.
  for (size_t i = 0; i < found; ++i) read_block(ids[i], h[i]);
  for (size_t i = found; i < h.size(); ++i) {
    write_block(ids[i], h[i], block_bytes_);
    if (tier_kv_publish(pool_, ids[i], h[i], nullptr) != TIER_OK) {
      *error = api_error("tier_kv_publish");
      return false;
    }
  }
  tier_kv_touch(pool_, ids.data(), found, 1, 0);
  tier_kv_touch(pool_, ids.data() + found, h.size() - found, 0, 1);
  if (tier_kv_seq_unpin(pool_, s.id) != TIER_OK) {
    *error = api_error("tier_kv_seq_unpin");
    return false;
  }
  c_.prompt_blocks += h.size();
  c_.shared_blocks += found;
  c_.new_blocks += h.size() - found;
  c_.tokens_prefilled += s.req->input_length;
  return true;
}

bool KvEngine::decode(Seq &s, uint64_t *tokens, std::string *error) {
  const uint64_t todo = std::min<uint64_t>(o_.decode_tokens, s.req->output_length - s.decoded);
  const uint64_t bytes_per_token = block_bytes_ / kTokensPerBlock;
  uint64_t done = 0;
  while (done < todo) {
    const uint64_t pos = (s.decoded + done) % kTokensPerBlock;
    if (pos == 0) {  // the tail block is full (or there is none yet): a new private block
      if (tier_kv_seq_extend(pool_, s.id, 1, &s.tail, nullptr) != TIER_OK) {
        *error = api_error("tier_kv_seq_extend (tail)");
        return false;
      }
      --s.tail_left;
      --promised_;
      ++c_.tail_blocks;
      s.tail_stamp = (uint64_t{1} << 63) | (s.id << 16) | s.stamps.size();
      s.stamps.push_back(s.tail_stamp);
      write_block(s.tail, s.tail_stamp, block_bytes_);  // fresh memory for the tail
    }
    done += std::min(todo - done, kTokensPerBlock - pos);
  }
  size_t n = 0;
  table_.resize(s.stamps.size());
  if (tier_kv_seq_pin(pool_, s.id) != TIER_OK ||
      tier_kv_seq_blocks(pool_, s.id, table_.data(), table_.size(), &n) != TIER_OK) {
    *error = api_error("tier_kv_seq_pin / tier_kv_seq_blocks");
    return false;
  }
  // Attention over every block of the sequence, then the new tokens' K and V written.
  for (size_t i = 0; i < n && i < s.stamps.size(); ++i) read_block(table_[i], s.stamps[i]);
  write_block(s.tail, s.tail_stamp, std::min(todo, kTokensPerBlock) * bytes_per_token);
  tier_kv_touch(pool_, table_.data(), n, 1, 0);
  tier_kv_touch(pool_, &s.tail, 1, 0, 1);
  if (tier_kv_seq_unpin(pool_, s.id) != TIER_OK) {
    *error = api_error("tier_kv_seq_unpin");
    return false;
  }
  s.decoded += todo;
  c_.tokens_decoded += todo;
  *tokens += todo;
  return true;
}

int64_t KvEngine::step(std::string *error) {
  uint64_t tokens = 0;
  const uint64_t prefilled_before = c_.tokens_prefilled;
  while (admit(error)) {
  }
  if (!error->empty()) return -1;
  tokens += c_.tokens_prefilled - prefilled_before;
  for (size_t i = 0; i < running_.size();) {
    Seq &s = running_[i];
    if (s.decoded < s.req->output_length && !decode(s, &tokens, error)) return -1;
    if (s.decoded >= s.req->output_length) {
      if (tier_kv_seq_free(pool_, s.id) != TIER_OK) {
        *error = api_error("tier_kv_seq_free");
        return -1;
      }
      promised_ -= s.tail_left;
      ++c_.finished;
      running_[i] = std::move(running_.back());
      running_.pop_back();
      continue;
    }
    ++i;
  }
  return static_cast<int64_t>(tokens);
}

}  // namespace serve_demo
