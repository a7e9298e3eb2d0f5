// The error convention of the C ABI: codes have names, the last error is per thread.
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "common/result.hpp"
#include "tier/tier.h"

TEST_CASE("every status has a distinct, non-empty name") {
  const tier_status all[] = {TIER_OK,        TIER_EINVAL,    TIER_ENOMEM,  TIER_ENODEV,
                             TIER_ENOSYS,    TIER_ETOPOLOGY, TIER_ECONFIG, TIER_EOS,
                             TIER_ENOTOWNED, TIER_EBUSY,     TIER_EPERM,   TIER_EPROTO};
  for (auto a : all) {
    REQUIRE(std::string(tier_strerror(a)).size() > 3);
    for (auto b : all)
      if (a != b) REQUIRE(std::string(tier_strerror(a)) != tier_strerror(b));
  }
  REQUIRE(std::string(tier_strerror(static_cast<tier_status>(-999))) == "unknown status");
}

TEST_CASE("the last error is kept per thread") {
  tier::set_last_error(tier::os_error("mbind(node 3)", ENOMEM));
  REQUIRE(tier_last_status() == TIER_EOS);
  REQUIRE(tier_last_errno() == ENOMEM);
  REQUIRE(std::string(tier_last_error()).find("mbind(node 3)") != std::string::npos);
  std::thread([] { REQUIRE(tier_last_status() == TIER_OK); }).join();
  REQUIRE(tier_last_status() == TIER_EOS);
}

TEST_CASE("Result carries a value or an error with context") {
  tier::Result<int> good(7);
  REQUIRE(good.ok());
  REQUIRE(*good == 7);
  tier::Result<int> bad(tier::make_error(TIER_EINVAL, "size 0").context("while allocating"));
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.status() == TIER_EINVAL);
  REQUIRE(bad.error().message == "while allocating: size 0");
}
