// The C++ layer over the KV block pool (include/tier/kv.hpp): creation errors as
// tier::failure, allocation and prefix lookup, the RAII pin released at scope end, and a full
// pool reported as TIER_ENOMEM.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tier/kv.hpp"

TEST_CASE("kv.hpp: RAII pool, lookup, pins and a full pool") {
  auto rt = tier::Runtime::create("default").value();
  tier::KvPool::Options o;
  o.block_bytes = 2u << 20;
  CHECK(tier::KvPool::create(rt.get(), o).status() == TIER_EINVAL);  // no max_blocks
  CHECK(tier::KvPool::create(rt.get(), o).error().message.find("max_blocks") != std::string::npos);
  o.max_blocks = 4;
  o.policy = tier::Policy::preferred().fastest();
  auto pool = tier::KvPool::create(rt.get(), o);
  REQUIRE(pool);

  auto blocks = pool->alloc(2);
  REQUIRE(blocks);
  REQUIRE(blocks->size() == 2);
  CHECK(pool->addr((*blocks)[0]) != nullptr);
  CHECK(pool->publish((*blocks)[0], 11).value() == (*blocks)[0]);
  CHECK(pool->publish((*blocks)[1], 12).value() == (*blocks)[1]);
  const std::vector<uint64_t> prompt = {11, 12, 13};
  auto hit = pool->lookup(prompt);
  REQUIRE(hit);
  CHECK(hit->size() == 2);
  {
    auto pin = pool->pin(*hit);
    REQUIRE(pin);
    pool->touch(*hit, 1, 0);
    CHECK(pool->release(*blocks).status() == TIER_OK);  // the lookup's references remain
    CHECK(pool->release(*hit).status() == TIER_EBUSY);  // last references of pinned blocks
  }
  CHECK(pool->release(*hit).status() == TIER_OK);  // unpinned when the guard went
  CHECK(pool->stats()->cached == 2);

  auto four = pool->alloc(4);  // two free + two cached (evicted)
  REQUIRE(four);
  auto more = pool->alloc(1);
  CHECK(more.status() == TIER_ENOMEM);
  CHECK(more.error().what().find("pool full") != std::string::npos);
  CHECK(pool->stats()->evictions == 2);

  tier::KvPool moved = std::move(*pool);
  CHECK(moved.get() != nullptr);
  CHECK(pool->get() == nullptr);
  CHECK(moved.release(*four).status() == TIER_OK);
}
