// accept_backoff.hpp - what tierd's loop does when accept(2) fails for want of descriptors
// or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). The pending connection stays queued, so an
// accept re-armed at once fails again at once: the loop would spin at 100% CPU and log a line
// per failure. Instead the loop waits kRetryMs before the next accept, and logs the first
// failure of a streak, then at most one line every kReportMs with the count of failures it
// did not log, and one when an accept succeeds again.
//
// Pure bookkeeping over times the caller passes in (milliseconds on a monotonic clock), so
// it is tested without a daemon. Not thread-safe (one per loop).
#pragma once

#include <cstdint>
#include <string>

namespace tier::daemon {

class AcceptBackoff {
 public:
  static constexpr uint64_t kRetryMs = 100;
  static constexpr uint64_t kReportMs = 60000;

  // True for the errors that back off: retrying sooner cannot succeed.
  static bool is_shortage(int err);

  // accept failed with `err` (is_shortage) at `now_ms`: the line to log, or "" when this
  // failure is only counted.
  std::string failed(int err, uint64_t now_ms);
  // accept succeeded at `now_ms`: a line saying that a streak of failures ended, or "".
  std::string succeeded(uint64_t now_ms);

  bool failing() const { return streak_ > 0; }

 private:
  uint64_t streak_ = 0;      // failures since the last success
  uint64_t unlogged_ = 0;    // failures since the last line logged
  uint64_t started_ms_ = 0;  // when the streak began
  uint64_t logged_ms_ = 0;   // when the last line was logged
};

}  // namespace tier::daemon
