// store_backend.hpp - the two engines the coordination tests run on, behind one fixture.
//
// Every case of the conformance suite (test_coord_store.cpp) and of the recipes' tests is a
// function of a Backend, registered twice by STORE_CASE: once on an EmbeddedStore, once on a
// real etcd process (etcd_harness.hpp) shared by the cases of the binary. Cases on etcd share
// its data, so each works under its own key prefix (Backend::prefix) and states revisions
// relative to the ones it observed. ctest runs the two halves apart by tag ([embedded],
// [etcd]).
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "coord/store.hpp"

namespace tier::test {

class Backend {
 public:
  virtual ~Backend() = default;
  // The store of this case, and further clients of the same data (another host's view: a
  // second EtcdStore for etcd, the same object for the embedded store).
  virtual coord::Store &store() = 0;
  virtual std::shared_ptr<coord::Store> connect() = 0;
  virtual bool is_etcd() const = 0;
  // A key prefix no other case uses ("/t/<n>/").
  const std::string prefix;

 protected:
  Backend();
};

std::unique_ptr<Backend> embedded_backend();
// Starts the binary's etcd on first use; a missing etcd skips (exit 77), or fails when
// TIER_FAIL_ON_SKIP=1.
std::unique_ptr<Backend> etcd_backend();

}  // namespace tier::test

// Registers `fn(tier::test::Backend &)` as two test cases, "<name> [embedded]" and
// "<name> [etcd]".
#define STORE_CASE(name, fn)                   \
  TEST_CASE("embedded: " name, "[embedded]") { \
    fn(*tier::test::embedded_backend());       \
  }                                            \
  TEST_CASE("etcd: " name, "[etcd]") {         \
    fn(*tier::test::etcd_backend());           \
  }

namespace tier::test {

// The value of a Result that must be ok; the test fails with the error's message otherwise.
template <class T>
T must(Result<T> r) {
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}
inline void must(Status s) {
  INFO((s.ok() ? std::string() : s.error().message));
  REQUIRE(s.ok());
}

}  // namespace tier::test
