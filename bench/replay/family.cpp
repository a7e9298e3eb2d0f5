// family.cpp - the family judge (see family.hpp).
//
// Thread-safety: see family.hpp.
#include "family.hpp"

#include <cmath>
#include <iomanip>
#include <iostream>

#include "generate.hpp"
#include "policy/policy.hpp"

namespace tier::replay {

Result<FamilyVerdict> run_family(const FamilyOptions &o, const TimeModel &model, bool json,
                                 std::ostream &out) {
  const std::string candidate = o.candidate.empty() ? policy::kDefaultPolicy : o.candidate;
  const std::vector<std::string> shapes = o.shapes.empty() ? generated_shapes() : o.shapes;
  FamilyVerdict v;
  double log_sum = 0;
  size_t smallest_rows = 0;
  double smallest = o.fractions.empty() ? 0 : o.fractions.front();
  for (double f : o.fractions) smallest = std::min(smallest, f);
  if (!json)
    out << std::left << std::setw(28) << "workload" << std::right << std::setw(7) << "cap"
        << std::setw(8) << "objects"
        << "  " << std::left << std::setw(12) << "best base" << std::right << std::setw(11)
        << "base s" << std::setw(11) << candidate + " s" << std::setw(8) << "ratio" << std::setw(9)
        << "hits" << std::setw(9) << "base hits" << std::setw(10) << "ft s"
        << "\n";
  for (const std::string &shape : shapes)
    for (uint64_t seed : o.seeds) {
      auto w = generate({shape, seed, o.scale});
      if (!w) return std::move(w).error();
      for (double f : o.fractions) {
        RunOptions run;
        run.capacities = {std::max<uint64_t>(
            1, static_cast<uint64_t>(std::llround(f * static_cast<double>(w->objects))))};
        run.policies = o.baselines;
        run.policies.push_back(candidate);
        run.config = o.config;
        auto rows = run_all(*w, run, model);
        if (!rows) return std::move(rows).error();
        // The candidate's row is the last (it may also be one of the baselines).
        const Row *cand = &rows->back(), *best = nullptr, *ft = nullptr;
        for (size_t r = 0; r + 1 < rows->size(); ++r) {
          const Row &row = (*rows)[r];
          if (!best || row.time.total_s() < best->time.total_s()) best = &row;
          if (row.policy == "first-touch") ft = &row;
        }
        if (!best) return make_error(TIER_EINVAL, "family: no baseline to judge against");
        const double ratio = cand->time.total_s() / best->time.total_s();
        ++v.rows;
        v.worst_ratio = std::max(v.worst_ratio, ratio);
        if (ratio > 1.005) ++v.over_time;
        if (cand->hits < best->hits) ++v.fewer_hits;
        if (f == smallest) {
          log_sum += std::log(ratio);
          ++smallest_rows;
        }
        if (json) {
          out << std::fixed << std::setprecision(6) << "{\"workload\": \"" << w->name
              << "\", \"fraction\": " << f << ", \"capacity\": " << run.capacities[0]
              << ", \"objects\": " << w->objects << ", \"best_baseline\": \"" << best->policy
              << "\", \"baseline_seconds\": " << best->time.total_s() << ", \"policy\": \""
              << candidate << "\", \"default\": true, \"seconds\": " << cand->time.total_s()
              << ", \"ratio\": " << ratio << ", \"hits\": " << cand->hits
              << ", \"baseline_hits\": " << best->hits << "}\n";
        } else {
          out << std::left << std::setw(28) << w->name << std::right << std::fixed
              << std::setprecision(2) << std::setw(7) << f << std::setw(8) << run.capacities[0]
              << "  " << std::left << std::setw(12) << best->policy << std::right
              << std::setprecision(2) << std::setw(11) << best->time.total_s() << std::setw(11)
              << cand->time.total_s() << std::setprecision(3) << std::setw(8) << ratio
              << std::setw(9) << cand->hits << std::setw(9) << best->hits << std::setprecision(2)
              << std::setw(10) << (ft ? ft->time.total_s() : 0) << "\n";
        }
        if (o.progress) std::cerr << "." << std::flush;
      }
    }
  if (o.progress) std::cerr << "\n";
  v.geomean_smallest = smallest_rows ? std::exp(log_sum / static_cast<double>(smallest_rows)) : 0;
  if (!json)
    out << "\n"
        << v.rows << " rows; worst time ratio " << std::setprecision(3) << v.worst_ratio
        << "; rows over 1.005x the best baseline: " << v.over_time
        << "; rows with fewer hits than it: " << v.fewer_hits << "; geometric mean at capacity "
        << smallest << ": " << v.geomean_smallest << " -> " << (v.pass() ? "PASS" : "FAIL") << "\n";
  return v;
}

}  // namespace tier::replay
