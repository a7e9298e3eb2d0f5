// report.cpp - see report.hpp.
#include "report.hpp"

#include <unistd.h>

#include <cstdio>

namespace serve_demo {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = kMiB * 1024.0;

// JSON string escaping for the few free-text fields (paths, names).
std::string quoted(const std::string &s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

}  // namespace

LiveView::LiveView(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

void LiveView::maybe_print(double t, const std::vector<TierRow> &rows, const KvCounters &kv,
                           const Accounting &acct, uint64_t bytes_moved) {
  if (!due(t)) return;
  next_ = t + (tty_ ? 0.5 : 5.0);
  if (tty_ && lines_) std::fprintf(stderr, "\x1b[%dA", lines_);  // back to the block's top
  const char *eol = tty_ ? "\x1b[K\n" : "\n";
  std::fprintf(stderr,
               "[%6.1f s] requests %llu done, %llu running | hit ratio kv %.3f experts %.3f | "
               "migrated %.1f MiB%s",
               t, static_cast<unsigned long long>(kv.finished),
               static_cast<unsigned long long>(kv.admitted - kv.finished), acct.kv().ratio(),
               acct.experts().ratio(), double(bytes_moved) / kMiB, eol);
  for (const TierRow &r : rows)
    std::fprintf(stderr, "  tier %d %-10s %-9s %8.1f / %8.1f MiB  kv blocks %5llu  experts %4llu%s",
                 r.tier, r.nodes.c_str(), r.kinds.c_str(), double(r.allocated) / kMiB,
                 double(r.capacity) / kMiB, static_cast<unsigned long long>(r.kv_blocks),
                 static_cast<unsigned long long>(r.experts), eol);
  lines_ = 1 + static_cast<int>(rows.size());
  std::fflush(stderr);
}

void LiveView::finish() {
  lines_ = 0;
}

void print_table(const Summary &s) {
  std::printf(
      "tier-serve-demo: %llu requests served (%llu admitted, %llu skipped) in %.1f s, "
      "%llu steps; topology %s, policy %s\n",
      static_cast<unsigned long long>(s.kv.finished),
      static_cast<unsigned long long>(s.kv.admitted), static_cast<unsigned long long>(s.kv.skipped),
      s.seconds, static_cast<unsigned long long>(s.steps), s.topology.c_str(), s.policy.c_str());
  std::printf(
      "KV pool: %u blocks of %.0f MiB (512 tokens); prompt blocks %llu, shared by prefix "
      "%llu (%.1f%%), written %llu, tail %llu\n",
      s.pool.max_blocks, double(s.pool.block_bytes) / kMiB,
      static_cast<unsigned long long>(s.kv.prompt_blocks),
      static_cast<unsigned long long>(s.kv.shared_blocks),
      s.kv.prompt_blocks ? 100.0 * double(s.kv.shared_blocks) / double(s.kv.prompt_blocks) : 0,
      static_cast<unsigned long long>(s.kv.new_blocks),
      static_cast<unsigned long long>(s.kv.tail_blocks));
  std::printf(
      "MoE: %u layers x %u experts of %.0f MiB; %llu routings, %llu prefetch hints, "
      "%llu subject switches\n\n",
      s.layers, s.experts, double(s.expert_bytes) / kMiB,
      static_cast<unsigned long long>(s.moe_counters.routings),
      static_cast<unsigned long long>(s.moe_counters.prefetches),
      static_cast<unsigned long long>(s.moe_counters.subject_switches));
  std::printf("%-34s %10s %10s %10s\n", "fast-tier hit ratio (at touch)", "kv blocks", "experts",
              "all");
  std::printf("%-34s %10.3f %10.3f %10.3f\n", "  by objects", s.kv_hits.ratio(),
              s.expert_hits.ratio(), s.all_hits.ratio());
  std::printf("%-34s %10.3f %10.3f %10.3f\n", "  by bytes", s.kv_hits.byte_ratio(),
              s.expert_hits.byte_ratio(), s.all_hits.byte_ratio());
  std::printf("%-34s %10llu %10llu %10llu\n\n", "  touches",
              static_cast<unsigned long long>(s.kv_hits.touches),
              static_cast<unsigned long long>(s.expert_hits.touches),
              static_cast<unsigned long long>(s.all_hits.touches));
  std::printf("modelled memory time      %8.2f s  (the same accesses all on %s: %.2f s)\n",
              s.modelled_s, s.slowest_node.c_str(), s.all_slowest_s);
  std::printf("bytes accessed (modelled) %8.2f GiB read, %.2f GiB written\n",
              double(s.bytes_read) / kGiB, double(s.bytes_written) / kGiB);
  std::printf(
      "bytes migrated            %8.1f MiB  (%llu promotions, %llu demotions of 2 MiB "
      "chunks in %llu epochs; %llu moves refused: target full when the move came)\n",
      double(s.agent.bytes_moved) / kMiB, static_cast<unsigned long long>(s.agent.promotions),
      static_cast<unsigned long long>(s.agent.demotions),
      static_cast<unsigned long long>(s.agent.epochs),
      static_cast<unsigned long long>(s.agent.moves_refused));
  std::printf("data check                %llu bad pages\n\n",
              static_cast<unsigned long long>(s.kv.bad_pages + s.moe_counters.bad_pages));
  std::printf("%-4s %-10s %-9s %12s %12s %6s %10s %8s\n", "tier", "nodes", "kind", "capacity MiB",
              "used MiB", "used%", "kv blocks", "experts");
  for (const TierRow &r : s.rows)
    std::printf("%-4d %-10s %-9s %12.1f %12.1f %5.1f%% %10llu %8llu\n", r.tier, r.nodes.c_str(),
                r.kinds.c_str(), double(r.capacity) / kMiB, double(r.allocated) / kMiB,
                r.capacity ? 100.0 * double(r.allocated) / double(r.capacity) : 0,
                static_cast<unsigned long long>(r.kv_blocks),
                static_cast<unsigned long long>(r.experts));
}

void print_json(const Summary &s) {
  const auto hits = [](const HitCount &h) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"touches\": %llu, \"fast\": %llu, \"ratio\": %.6f, \"bytes\": %llu, "
                  "\"fast_bytes\": %llu, \"byte_ratio\": %.6f}",
                  static_cast<unsigned long long>(h.touches),
                  static_cast<unsigned long long>(h.fast), h.ratio(),
                  static_cast<unsigned long long>(h.bytes),
                  static_cast<unsigned long long>(h.fast_bytes), h.byte_ratio());
    return std::string(buf);
  };
  std::printf("{\n  \"topology\": %s,\n  \"policy\": %s,\n  \"trace\": %s,\n  \"moe_data\": %s,\n",
              quoted(s.topology).c_str(), quoted(s.policy).c_str(), quoted(s.trace).c_str(),
              quoted(s.moe).c_str());
  std::printf("  \"seconds\": %.3f,\n  \"steps\": %llu,\n", s.seconds,
              static_cast<unsigned long long>(s.steps));
  std::printf("  \"requests\": {\"admitted\": %llu, \"finished\": %llu, \"skipped\": %llu},\n",
              static_cast<unsigned long long>(s.kv.admitted),
              static_cast<unsigned long long>(s.kv.finished),
              static_cast<unsigned long long>(s.kv.skipped));
  std::printf(
      "  \"kv\": {\"block_bytes\": %llu, \"pool_blocks\": %u, \"prompt_blocks\": %llu, "
      "\"shared_blocks\": %llu, \"new_blocks\": %llu, \"tail_blocks\": %llu, "
      "\"tokens_prefilled\": %llu, \"tokens_decoded\": %llu, \"evictions\": %llu},\n",
      static_cast<unsigned long long>(s.pool.block_bytes), s.pool.max_blocks,
      static_cast<unsigned long long>(s.kv.prompt_blocks),
      static_cast<unsigned long long>(s.kv.shared_blocks),
      static_cast<unsigned long long>(s.kv.new_blocks),
      static_cast<unsigned long long>(s.kv.tail_blocks),
      static_cast<unsigned long long>(s.kv.tokens_prefilled),
      static_cast<unsigned long long>(s.kv.tokens_decoded),
      static_cast<unsigned long long>(s.pool.evictions));
  std::printf(
      "  \"moe\": {\"layers\": %u, \"experts\": %u, \"expert_bytes\": %llu, "
      "\"routings\": %llu, \"prefetches\": %llu, \"subject_switches\": %llu},\n",
      s.layers, s.experts, static_cast<unsigned long long>(s.expert_bytes),
      static_cast<unsigned long long>(s.moe_counters.routings),
      static_cast<unsigned long long>(s.moe_counters.prefetches),
      static_cast<unsigned long long>(s.moe_counters.subject_switches));
  std::printf(
      "  \"hit_ratio\": {\"kv\": %s,\n                \"experts\": %s,\n"
      "                \"all\": %s},\n",
      hits(s.kv_hits).c_str(), hits(s.expert_hits).c_str(), hits(s.all_hits).c_str());
  std::printf(
      "  \"modelled_memory_s\": %.6f,\n  \"modelled_all_on_slowest_s\": %.6f,\n"
      "  \"slowest_node\": %s,\n",
      s.modelled_s, s.all_slowest_s, quoted(s.slowest_node).c_str());
  std::printf("  \"bytes_read\": %llu,\n  \"bytes_written\": %llu,\n",
              static_cast<unsigned long long>(s.bytes_read),
              static_cast<unsigned long long>(s.bytes_written));
  std::printf(
      "  \"migration\": {\"bytes_migrated\": %llu, \"promotions\": %llu, "
      "\"demotions\": %llu, \"epochs\": %llu, \"pages_failed\": %llu, "
      "\"moves_refused\": %llu, \"modelled_s\": %.6f},\n",
      static_cast<unsigned long long>(s.agent.bytes_moved),
      static_cast<unsigned long long>(s.agent.promotions),
      static_cast<unsigned long long>(s.agent.demotions),
      static_cast<unsigned long long>(s.agent.epochs),
      static_cast<unsigned long long>(s.agent.pages_failed),
      static_cast<unsigned long long>(s.agent.moves_refused), s.agent.modelled_migration_s);
  std::printf("  \"bad_pages\": %llu,\n  \"tiers\": [\n",
              static_cast<unsigned long long>(s.kv.bad_pages + s.moe_counters.bad_pages));
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const TierRow &r = s.rows[i];
    std::printf(
        "    {\"tier\": %d, \"nodes\": %s, \"kind\": %s, \"capacity\": %llu, "
        "\"used\": %llu, \"kv_blocks\": %llu, \"experts\": %llu}%s\n",
        r.tier, quoted(r.nodes).c_str(), quoted(r.kinds).c_str(),
        static_cast<unsigned long long>(r.capacity), static_cast<unsigned long long>(r.allocated),
        static_cast<unsigned long long>(r.kv_blocks), static_cast<unsigned long long>(r.experts),
        i + 1 < s.rows.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
}

}  // namespace serve_demo
