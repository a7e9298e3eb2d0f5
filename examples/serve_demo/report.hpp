// report.hpp - the live per-tier view while serving, and the final table / JSON.
//
// Live view: on a terminal, one line per tier refreshed in place every half second; otherwise
// (a pipe, a log, the README's run under tierd) a plain block of lines every few seconds.
// Both go to stderr so that --json keeps stdout clean.
// Thread-safety: single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accounting.hpp"
#include "kv_engine.hpp"
#include "moe_stack.hpp"
#include "tier/heat.h"
#include "tier_view.hpp"

namespace serve_demo {

struct Summary {
  std::string topology, policy, trace, moe;
  double seconds = 0;
  uint64_t steps = 0;
  KvCounters kv;
  MoeCounters moe_counters;
  tier_kv_pool_stats pool{};
  tier_agent_stats agent{};
  HitCount kv_hits, expert_hits, all_hits;
  uint64_t bytes_read = 0, bytes_written = 0;
  double modelled_s = 0, all_slowest_s = 0;
  std::string slowest_node;
  std::vector<TierRow> rows;
  uint32_t layers = 0, experts = 0;
  uint64_t expert_bytes = 0;
  uint32_t batch = 0, decode_tokens = 0;
};

class LiveView {
 public:
  explicit LiveView(bool quiet);
  // Prints when its interval has passed since the last print.
  void maybe_print(double elapsed_s, const std::vector<TierRow> &rows, const KvCounters &kv,
                   const Accounting &acct, uint64_t bytes_moved);
  void finish();  // leaves the last refreshed block on screen
  bool due(double elapsed_s) const { return !quiet_ && elapsed_s >= next_; }

 private:
  bool quiet_, tty_;
  double next_ = 0;
  int lines_ = 0;  // lines printed by the last refresh (tty)
};

void print_table(const Summary &s);
void print_json(const Summary &s);

}  // namespace serve_demo
