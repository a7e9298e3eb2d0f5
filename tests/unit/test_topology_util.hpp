// test_topology_util.hpp - helpers shared by the topology tests: fixture paths, a scoped
// environment variable, and a small synthetic machine.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

#include "topology/topology.hpp"

namespace tier::test {

inline std::string fixtures() {
  const char *f = std::getenv("TIER_FIXTURES");
  return f ? f : "tests/fixtures";
}
inline std::string machine_dir(const std::string &name) {
  return fixtures() + "/machines/" + name;
}

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char *name, std::optional<std::string> value) : name_(name) {
    if (const char *old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

 private:
  const char *name_;
  std::optional<std::string> old_;
};

// Node 0: 16 GiB with CPUs 0-1 (DRAM); node 1: 32 GiB, CPU-less, no figures.
inline Topology small_machine() {
  Topology m;
  m.source = "test machine";
  Node a;
  a.id = 0;
  a.backing_node = 0;
  a.name = "node0";
  a.total = a.capacity = 16ull << 30;
  a.free = 12ull << 30;
  a.cpus = {0, 1};
  Node b = a;
  b.id = 1;
  b.backing_node = 1;
  b.name = "node1";
  b.total = b.capacity = 32ull << 30;
  b.cpus.clear();
  m.nodes = {a, b};
  classify(m);
  rank_tiers(m);
  return m;
}

}  // namespace tier::test
