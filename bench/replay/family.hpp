// family.hpp - judging a policy on the whole synthetic family (generate.hpp): every shape, every
// seed given, every capacity fraction, against the baselines, on total modelled time.
//
// Per (workload, capacity) the best baseline is the one of first-touch, lru, lfu, arc and tpp
// with the least total modelled time (memory + migration); the default policy is held against
// it: time ratio (default / best), and hits (no fewer than the best-time baseline's). The
// summary gives the worst ratio and, at the smallest capacity, the geometric mean of the
// ratios, with the bars: every ratio <= 1.005 with no fewer hits, geo-mean <= 0.97.
// Capacities are fractions of the workload's distinct objects.
//
// Thread-safety: single-threaded.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "cost.hpp"
#include "report.hpp"

namespace tier::replay {

struct FamilyOptions {
  std::vector<std::string> shapes;  // empty = generated_shapes()
  std::vector<uint64_t> seeds = {1};
  std::vector<double> fractions = {0.05, 0.15, 0.35};
  std::string candidate;  // empty = the registry default
  std::vector<std::string> baselines = {"first-touch", "lru", "lfu", "arc", "tpp"};
  double scale = 1.0;
  ReplayConfig config;
  bool progress = false;
};

struct FamilyVerdict {
  double worst_ratio = 0;
  double geomean_smallest = 0;
  size_t rows = 0, over_time = 0, fewer_hits = 0;
  bool pass() const { return over_time == 0 && fewer_hits == 0 && geomean_smallest <= 0.97; }
};

// Runs the family; writes a table (or JSON lines) to `out`.
Result<FamilyVerdict> run_family(const FamilyOptions &o, const TimeModel &model, bool json,
                                 std::ostream &out);

}  // namespace tier::replay
