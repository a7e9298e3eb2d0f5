// ratio_reporter.hpp - a Google Benchmark reporter that, besides the usual console table,
// prints each benchmark's throughput as a ratio to a named baseline of the same family, so a
// single run answers "how does Tier compare" without post-processing.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tier::bench {

// Benchmarks are named "<family>/<allocator>[/<args>...]". For every family and argument set,
// throughput (items per second) of each allocator is divided by each listed baseline's.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(std::vector<std::pair<std::string, std::string>> comparisons)
      : comparisons_(std::move(comparisons)) {}
  void ReportRuns(const std::vector<Run> &runs) override;
  void Finalize() override;

 private:
  // key: family + args (allocator removed) -> allocator -> items per second
  std::map<std::string, std::map<std::string, double>> rates_;
  std::vector<std::pair<std::string, std::string>> comparisons_;  // (allocator, baseline)
};

}  // namespace tier::bench
