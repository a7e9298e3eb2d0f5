// accept_backoff.cpp - see accept_backoff.hpp.
#include "accept_backoff.hpp"

#include <cerrno>
#include <cstring>

namespace tier::daemon {

namespace {

std::string seconds(uint64_t ms) {
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

}  // namespace

bool AcceptBackoff::is_shortage(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

std::string AcceptBackoff::failed(int err, uint64_t now_ms) {
  if (streak_++ == 0) {
    started_ms_ = logged_ms_ = now_ms;
    unlogged_ = 0;
    return std::string("accept: ") + std::strerror(err) + "; retrying every " +
           std::to_string(kRetryMs) + " ms, repeats are counted, not logged";
  }
  ++unlogged_;
  if (now_ms - logged_ms_ < kReportMs) return "";
  std::string line = std::string("accept: still failing (") + std::strerror(err) +
                     "): " + std::to_string(unlogged_) + " repeats not logged in the last " +
                     seconds(now_ms - logged_ms_);
  logged_ms_ = now_ms;
  unlogged_ = 0;
  return line;
}

std::string AcceptBackoff::succeeded(uint64_t now_ms) {
  if (streak_ == 0) return "";
  std::string line = "accept: working again after " + std::to_string(streak_) + " failures in " +
                     seconds(now_ms - started_ms_) + " (" + std::to_string(unlogged_) +
                     " repeats not logged)";
  streak_ = unlogged_ = 0;
  return line;
}

}  // namespace tier::daemon
