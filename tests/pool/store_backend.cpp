// store_backend.cpp - see store_backend.hpp.
#include "store_backend.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "coord/embedded_store.hpp"
#include "coord/etcd_store.hpp"
#include "etcd_harness.hpp"

namespace tier::test {

namespace {

std::atomic<int> next_case{0};

class EmbeddedBackend final : public Backend {
 public:
  coord::Store &store() override { return *store_; }
  std::shared_ptr<coord::Store> connect() override { return store_; }
  bool is_etcd() const override { return false; }

 private:
  std::shared_ptr<coord::EmbeddedStore> store_ = std::make_shared<coord::EmbeddedStore>();
};

// The binary's etcd: started by the first case that needs it; killed, and its directory
// removed, at exit.
EtcdProcess *the_etcd = nullptr;

EtcdProcess &shared_etcd() {
  if (!the_etcd) {
    require_etcd_or_skip();
    the_etcd = new EtcdProcess();
    if (Status s = the_etcd->start(); !s) {
      std::fprintf(stderr, "%s\n", s.error().message.c_str());
      std::exit(1);
    }
    std::atexit([] { delete the_etcd; });
  }
  return *the_etcd;
}

class EtcdBackend final : public Backend {
 public:
  EtcdBackend() : store_(connect()) {}
  coord::Store &store() override { return *store_; }
  std::shared_ptr<coord::Store> connect() override {
    auto s = coord::EtcdStore::open({{shared_etcd().client_url()}});
    REQUIRE(s.ok());
    return std::shared_ptr<coord::Store>(std::move(s).value());
  }
  bool is_etcd() const override { return true; }

 private:
  std::shared_ptr<coord::Store> store_;
};

}  // namespace

Backend::Backend() : prefix("/t/" + std::to_string(next_case++) + "/") {}

std::unique_ptr<Backend> embedded_backend() {
  return std::make_unique<EmbeddedBackend>();
}
std::unique_ptr<Backend> etcd_backend() {
  return std::make_unique<EtcdBackend>();
}

}  // namespace tier::test
