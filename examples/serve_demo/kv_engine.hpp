// kv_engine.hpp - a continuous-batching serving loop over Tier's KV-cache block pool.
//
// What a paged-attention engine does with its KV cache, on the Mooncake conversation trace,
// time-compressed (requests are taken in trace order as fast as the batch admits them; the
// timestamps only order them):
//  - admission: a request is admitted when the pool can hold its prompt blocks and the tail
//    blocks its output will need, beside what the running sequences were promised;
//  - prefill: the prompt's longest cached prefix is shared by hash (tier_kv_seq_share), the
//    rest is allocated (tier_kv_seq_extend), written, and published under its hash id;
//  - decode: each step decodes `decode_tokens` tokens per running sequence: the sequence is
//    pinned, every block of it is read (attention) and touched, the new tokens are written
//    into its tail block (a new private block every 512 tokens), then it is unpinned;
//  - a finished sequence is freed: its published blocks stay cached for later prompts.
// One trace block (512 tokens) is one pool block of `block_mib` MiB.
// Thread-safety: single-threaded (the agent thread moves blocks underneath, which is the point).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accounting.hpp"
#include "options.hpp"
#include "tier/kv.h"
#include "trace.hpp"

namespace serve_demo {

inline constexpr uint64_t kTokensPerBlock = 512;

struct KvCounters {
  uint64_t admitted = 0, finished = 0, skipped = 0;
  uint64_t prompt_blocks = 0, shared_blocks = 0, new_blocks = 0, tail_blocks = 0;
  uint64_t tokens_prefilled = 0, tokens_decoded = 0;
  uint64_t bad_pages = 0;  // stamps that did not match (must stay 0)
};

class KvEngine {
 public:
  KvEngine(tier_kv_pool *pool, const tier::workloads::Trace &trace, const Options &o,
           Accounting *acct);
  // One scheduler step: admit, prefill the admitted, decode the running. Returns the tokens
  // the step processed (for the MoE layers), or -1 with `error` set.
  int64_t step(std::string *error);
  bool done() const;  // the request bound is reached and nothing runs
  void stop_admitting() { stop_ = true; }
  const KvCounters &counters() const { return c_; }
  size_t running() const { return running_.size(); }

 private:
  struct Seq {
    uint64_t id;
    const tier::workloads::Request *req;
    uint64_t decoded = 0;
    uint32_t tail_left;   // tail blocks still to allocate (promised)
    uint64_t tail_stamp;  // stamp of the current tail block
    tier_kv_block tail = TIER_KV_NO_BLOCK;
    std::vector<uint64_t> stamps;  // per block of its table, in table order
  };
  bool admit(std::string *error);  // false when the next request must wait
  bool prefill(Seq &s, std::string *error);
  bool decode(Seq &s, uint64_t *tokens, std::string *error);
  void read_block(tier_kv_block id, uint64_t stamp);
  void write_block(tier_kv_block id, uint64_t stamp, uint64_t bytes);
  uint64_t available() const;

  tier_kv_pool *pool_;
  const tier::workloads::Trace &trace_;
  Options o_;
  Accounting *acct_;
  uint64_t block_bytes_;
  uint64_t limit_;
  size_t next_ = 0;
  bool stop_ = false;
  uint64_t promised_ = 0;
  std::vector<Seq> running_;
  std::vector<tier_kv_block> table_;  // scratch: a sequence's block table
  KvCounters c_;
};

}  // namespace serve_demo
