// test_daemon_descriptors.cpp - tierd short of descriptors: raise_fd_limit() (fd_limit.hpp).
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <string>

#include "fd_limit.hpp"

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
