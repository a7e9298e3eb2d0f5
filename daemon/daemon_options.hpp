// daemon_options.hpp - what tierd's core needs from its configuration.
//
// The configuration file and flags (daemon/config.hpp, Config) are richer; tierd_main maps a
// Config onto these fields with from_config() so the core does not depend on how options are
// spelled. Defaults equal Config's. Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tier::daemon {

struct ClientRuleOptions {
  std::string match_comm;  // "" = any
  int64_t match_uid = -1;  // -1 = any
  int priority = 0;        // -1000 .. 1000: heat is weighted by 2^(priority/100)
  uint64_t quota_bytes = 0;
};

struct DaemonOptions {
  std::string socket_path = "/run/tier/tierd.sock";
  std::string topology;  // "" = as a runtime resolves it; a preset name or a TOML file
  std::string policy = "heat";
  uint32_t epoch_ms = 100;
  uint64_t budget_bytes_per_epoch = 256ull << 20;
  uint64_t rate_bytes_per_second = 0;
  double half_life_epochs = 4.0;
  std::string admin_group;  // "" = only root may run admin actions
  uint32_t max_clients = 1024;
  // A connection that has sent neither a hello nor a control request by then is closed, so
  // idle connections cannot hold the descriptors that clients and tierctl need.
  uint32_t hello_timeout_ms = 10000;
  uint64_t default_quota_bytes = 0;  // fast-tier bytes per client, 0 = none
  std::vector<ClientRuleOptions> clients;
  double low_watermark = 0.02;
  double high_watermark = 0.05;
  std::string log_level = "info";  // "debug" logs every epoch that moved something
  bool metrics_enabled = false;
  std::string metrics_address = "127.0.0.1";  // a literal IPv4 or IPv6 address
  uint16_t metrics_port = 9464;               // 0 = any free port (logged)
  // The CXL pool (Config's [pool]; docs/pool.md). pool_backend "none": no pool.
  std::string pool_backend = "none";
  std::string pool_path = "/dev/shm/tier-pool";
  uint64_t pool_size = 1ull << 30;
  uint32_t pool_host_id = 0;
  std::string pool_coordination = "embedded";
  uint64_t pool_extent_size = 64ull << 20;
  uint32_t pool_giveback_timeout_ms = 5000;
  uint32_t pool_lease_ttl_s = 10;
};

}  // namespace tier::daemon
