// ratio_reporter.cpp - see ratio_reporter.hpp.
#include "ratio_reporter.hpp"

#include <cstdio>

namespace tier::bench {

void RatioReporter::ReportRuns(const std::vector<Run> &runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run &run : runs) {
    if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
    const std::string name = run.benchmark_name();
    const auto first = name.find('/');
    if (first == std::string::npos) continue;
    const auto second = name.find('/', first + 1);
    const std::string family = name.substr(0, first);
    const std::string alloc = name.substr(
        first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    const std::string args = second == std::string::npos ? "" : name.substr(second);
    auto it = run.counters.find("items_per_second");
    if (it == run.counters.end()) continue;
    rates_[family + args][alloc] = it->second.value;
  }
}

void RatioReporter::Finalize() {
  std::printf("\nThroughput ratios (items/s of the first over the second; higher is better):\n");
  std::printf("%-40s %-28s %8s\n", "benchmark", "comparison", "ratio");
  for (const auto &[key, by_alloc] : rates_) {
    for (const auto &[alloc, baseline] : comparisons_) {
      auto a = by_alloc.find(alloc);
      auto b = by_alloc.find(baseline);
      if (a == by_alloc.end() || b == by_alloc.end() || b->second <= 0) continue;
      std::printf("%-40s %-28s %8.2f\n", key.c_str(), (alloc + " / " + baseline).c_str(),
                  a->second / b->second);
    }
  }
  ConsoleReporter::Finalize();
}

}  // namespace tier::bench
