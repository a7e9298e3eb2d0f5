// rate_limit.hpp - a token bucket that paces a mover to a byte rate.
//
// Tokens are bytes; they refill at `bytes_per_second` up to `burst_bytes`. acquire(n) blocks
// until n bytes are available (a request larger than the bucket is let through once the
// bucket is full, so one 2 MiB chunk never deadlocks a limit set below it). The migration byte
// *budget* per epoch is the policy's concern; this bounds the *rate* so that migration does not
// eat the bandwidth the application needs.
//
// Thread-safety: none; one bucket per mover, and a mover is used by one thread at a time.
#pragma once

#include <cstdint>

#include "migrate/mover.hpp"

namespace tier::migrate {

class TokenBucket {
 public:
  explicit TokenBucket(const RateLimit &limit);
  // Waits until `bytes` may be moved and takes them. Returns the nanoseconds spent waiting.
  uint64_t acquire(uint64_t bytes);
  bool unlimited() const { return rate_ == 0; }

 private:
  void refill(uint64_t now_ns);
  uint64_t rate_;  // bytes per second, 0 = unlimited
  uint64_t burst_;
  double tokens_;
  uint64_t last_ns_;
};

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns();

}  // namespace tier::migrate
