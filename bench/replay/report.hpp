// report.hpp - running a workload against policies and capacities, and reporting the rows as
// a table, JSON, or a gnuplot PNG of hit ratio against capacity.
//
// Thread-safety: single-threaded helpers.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "cost.hpp"
#include "engine_replay.hpp"
#include "workload.hpp"

namespace tier::replay {

inline constexpr const char *kOptimum = "optimum";  // Belady, offline

struct Row {
  std::string policy;
  uint64_t capacity = 0;  // objects
  uint64_t refs = 0, hits = 0;
  double hit_ratio = 0;
  double of_optimum = 0;  // hit_ratio / optimum's at this capacity
  uint64_t bytes_migrated = 0;
  ModelledTime time;
  double half_life = 0;  // epochs, for engine policies
  double seconds = 0;    // wall time of the replay
};

struct RunOptions {
  std::vector<uint64_t> capacities;
  std::vector<std::string> policies;  // engine policies and/or "optimum"
  ReplayConfig config;                // capacity filled per run
  bool progress = false;              // one line per run on stderr
};

Result<std::vector<Row>> run_all(const Workload &w, const RunOptions &o, const TimeModel &model);

void print_table(std::ostream &out, const Workload &w, const std::vector<Row> &rows,
                 const TimeModel &model);
void print_json(std::ostream &out, const Workload &w, const std::vector<Row> &rows,
                const TimeModel &model);
// Runs gnuplot (pngcairo, else png) to draw hit ratio against capacity, one line per policy.
Status plot(const std::string &png, const Workload &w, const std::vector<Row> &rows);

}  // namespace tier::replay
