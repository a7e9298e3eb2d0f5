// rate_limit.cpp - token bucket for the movers' byte-rate limit (see rate_limit.hpp).
#include "migrate/rate_limit.hpp"

#include <time.h>

#include <algorithm>

namespace tier::migrate {

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

TokenBucket::TokenBucket(const RateLimit &limit)
    : rate_(limit.bytes_per_second),
      burst_(std::max<uint64_t>(limit.burst_bytes, 4096)),
      // Start full: the first burst goes at full speed, as a fresh epoch should.
      tokens_(static_cast<double>(burst_)),
      last_ns_(monotonic_ns()) {}

void TokenBucket::refill(uint64_t now_ns) {
  const double add = static_cast<double>(now_ns - last_ns_) * 1e-9 * static_cast<double>(rate_);
  tokens_ = std::min(static_cast<double>(burst_), tokens_ + add);
  last_ns_ = now_ns;
}

uint64_t TokenBucket::acquire(uint64_t bytes) {
  if (rate_ == 0) return 0;
  const uint64_t start = monotonic_ns();
  // A request above the bucket size waits for a full bucket and then goes through (tokens go
  // negative, so the debt is paid back by the requests after it and the average rate holds).
  const double need = static_cast<double>(std::min(bytes, burst_));
  refill(start);
  while (tokens_ < need) {
    const double missing = need - tokens_;
    const uint64_t wait_ns = static_cast<uint64_t>(missing / static_cast<double>(rate_) * 1e9) + 1;
    timespec ts{static_cast<time_t>(wait_ns / 1000000000ull),
                static_cast<long>(wait_ns % 1000000000ull)};
    nanosleep(&ts, nullptr);
    refill(monotonic_ns());
  }
  tokens_ -= static_cast<double>(bytes);
  return monotonic_ns() - start;
}

}  // namespace tier::migrate
