// test_daemon_descriptors.cpp - tierd short of descriptors: raise_fd_limit() (fd_limit.hpp)
// and the accept back-off's logging (accept_backoff.hpp). integration_daemon_robustness runs
// a tierd at a low limit.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "accept_backoff.hpp"
#include "fd_limit.hpp"

using tier::daemon::AcceptBackoff;
using tier::daemon::raise_fd_limit;

TEST_CASE("raise_fd_limit lifts the soft descriptor limit to the hard one", "[daemon]") {
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  if (original.rlim_max < 128) FAIL("the hard limit (" << original.rlim_max << ") is below 128");
  rlimit low = original;
  low.rlim_cur = 64;  // lowering the soft limit is reversible: it may go up to the hard one
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);

  std::string line;
  CHECK(raise_fd_limit(&line));
  rlimit now{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
  CHECK(now.rlim_cur == original.rlim_max);
  CHECK(now.rlim_max == original.rlim_max);
  CHECK(line == "descriptor limit (RLIMIT_NOFILE): raised from 64 to the hard limit " +
                    std::to_string(original.rlim_max));

  // Already there: nothing to do, and said so.
  CHECK(raise_fd_limit(&line));
  CHECK(line == "descriptor limit (RLIMIT_NOFILE): " + std::to_string(original.rlim_max) +
                    ", the hard limit");
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &original) == 0);
}

TEST_CASE("only a shortage of descriptors or memory backs accept off", "[daemon]") {
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) CHECK(AcceptBackoff::is_shortage(e));
  // Per-connection failures: the next accept may well succeed at once.
  for (int e : {ECONNABORTED, EINTR, EPERM, EPROTO}) CHECK_FALSE(AcceptBackoff::is_shortage(e));
}

TEST_CASE("a streak of accept failures logs its first, one line a minute, and its end",
          "[daemon]") {
  AcceptBackoff b;
  CHECK_FALSE(b.failing());
  CHECK(b.succeeded(0).empty());  // no streak: nothing to say

  const std::string emfile = std::strerror(EMFILE);
  uint64_t t = 1000;
  CHECK(b.failed(EMFILE, t) ==
        "accept: " + emfile + "; retrying every 100 ms, repeats are counted, not logged");
  CHECK(b.failing());
  // Ten minutes of retries every kRetryMs: 6000 failures, one line per kReportMs.
  int lines = 0;
  for (int i = 1; i < 6000; ++i) {
    t += AcceptBackoff::kRetryMs;
    const std::string line = b.failed(EMFILE, t);
    if (line.empty()) continue;
    ++lines;
    if (lines == 1)  // 60 s after the first: 600 failures since, none of them logged
      CHECK(line ==
            "accept: still failing (" + emfile + "): 600 repeats not logged in the last 60.0 s");
  }
  CHECK(lines == 9);  // at 60, 120, ... 540 s; the 600 s mark is the next failure's
  t += 50;
  // 6000 failures in 599.95 s; 599 of them after the report at 540 s.
  CHECK(b.succeeded(t) ==
        "accept: working again after 6000 failures in 599.9 s (599 repeats not logged)");
  CHECK_FALSE(b.failing());
  CHECK(b.succeeded(t + 1).empty());

  // A new streak is reported anew, with ENFILE's own text.
  CHECK(b.failed(ENFILE, t + 10) == "accept: " + std::string(std::strerror(ENFILE)) +
                                        "; retrying every 100 ms, repeats are counted, not logged");
  CHECK(b.succeeded(t + 2510) ==
        "accept: working again after 1 failures in 2.5 s (0 repeats not logged)");
}
