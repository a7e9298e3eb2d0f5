// The reuse-interval estimator behind the adaptive half-life: buckets, the interval-weighted
// median, halving that follows a shift, and the half-life an adaptive configuration takes.
#include <catch2/catch.hpp>

#include "heat/reuse.hpp"
#include "heat/temperature.hpp"

using tier::heat::ReuseEstimator;
using tier::heat::TemperatureConfig;

TEST_CASE("reuse estimator: empty, then the median of one interval") {
  ReuseEstimator r;
  CHECK(r.samples() == 0);
  CHECK(r.median() == 0);
  for (int i = 0; i < 100; ++i) r.add(10);
  CHECK(r.samples() == 100);
  CHECK(r.median() == Approx(10).epsilon(0.15));  // within its ~19%-wide bucket
  // Buckets are monotonic in the interval and the midpoint lies in its own bucket.
  for (uint64_t g = 1; g < 5000; ++g) {
    CHECK(ReuseEstimator::bucket(g) <= ReuseEstimator::bucket(g + 1));
    const int b = ReuseEstimator::bucket(g);
    CHECK(ReuseEstimator::bucket(static_cast<uint64_t>(ReuseEstimator::midpoint(b))) == b);
  }
}

TEST_CASE("reuse estimator: intervals weigh by their length") {
  // 90 reuses after 1 epoch (a block read by every request) and 10 after 100 epochs: most of
  // the waiting happens over 100 epochs, and so does the time scale.
  ReuseEstimator r;
  for (int i = 0; i < 90; ++i) r.add(1);
  for (int i = 0; i < 10; ++i) r.add(100);
  CHECK(r.median() == Approx(100).epsilon(0.15));
}

TEST_CASE("reuse estimator: halving follows a shift within a few windows") {
  ReuseEstimator r(64);
  for (int i = 0; i < 640; ++i) r.add(1000);
  CHECK(r.median() == Approx(1000).epsilon(0.15));
  for (int i = 0; i < 64 * 12; ++i) r.add(8);
  CHECK(r.median() == Approx(8).epsilon(0.15));
}

TEST_CASE("adaptive half-life: the configured value until evidence, then the estimate") {
  ReuseEstimator r;
  TemperatureConfig fixed{6.0, false}, adaptive{6.0, true};
  CHECK(tier::heat::adaptive_half_life(adaptive, r) == 6.0);
  for (int i = 0; i < 10; ++i) r.add(40);
  CHECK(tier::heat::adaptive_half_life(fixed, r) == 6.0);
  CHECK(tier::heat::adaptive_half_life(adaptive, r) == Approx(40).epsilon(0.15));
  ReuseEstimator every_epoch;
  every_epoch.add(1);
  CHECK(tier::heat::adaptive_half_life(adaptive, every_epoch) >= 1.0);
}
