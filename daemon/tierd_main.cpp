// tierd_main.cpp - tierd's entry point: the configuration (daemon/config.hpp: the TOML file
// with command-line flags on top), then the event loop, with systemd told when it is ready.
//
// SIGHUP re-runs ConfigLoader::load(), which re-reads the file and applies the same flags
// again; a file that no longer checks is refused and the running configuration stays.
#include <cstdio>
#include <string>

#include "config.hpp"
#include "daemon_options.hpp"
#include "fd_limit.hpp"
#include "server.hpp"
#include "systemd_notify.hpp"

namespace {

using tier::daemon::Config;
using tier::daemon::ConfigLoader;
using tier::daemon::DaemonOptions;

// The core takes DaemonOptions so that it does not depend on how options are spelled.
DaemonOptions from_config(const Config &c) {
  DaemonOptions o;
  o.socket_path = c.socket_path;
  // Config spells presets "preset:NAME"; the runtime's resolver takes the bare name.
  o.topology = c.topology.rfind("preset:", 0) == 0 ? c.topology.substr(7) : c.topology;
  o.policy = c.policy;
  o.epoch_ms = c.epoch_ms;
  o.budget_bytes_per_epoch = c.budget_bytes_per_epoch;
  o.rate_bytes_per_second = c.rate_bytes_per_second;
  o.half_life_epochs = c.half_life_epochs;
  o.admin_group = c.admin_group;
  o.max_clients = c.max_clients;
  o.hello_timeout_ms = c.hello_timeout_ms;
  o.default_quota_bytes = c.default_quota_bytes;
  for (const tier::daemon::ClientRule &r : c.clients)
    o.clients.push_back({r.match_comm, r.match_uid, r.priority, r.quota_bytes});
  o.log_level = c.log_level;
  o.metrics_enabled = c.metrics_enabled;
  o.metrics_address = c.metrics_address;
  o.metrics_port = c.metrics_port;
  o.pool_backend = c.pool_backend;
  o.pool_path = c.pool_path;
  o.pool_size = c.pool_size;
  o.pool_host_id = c.pool_host_id;
  o.pool_coordination = c.pool_coordination;
  o.pool_extent_size = c.pool_extent_size;
  o.pool_giveback_timeout_ms = c.pool_giveback_timeout_ms;
  o.pool_lease_ttl_s = c.pool_lease_ttl_s;
  return o;
}

}  // namespace

int main(int argc, char **argv) {
  tier::Result<ConfigLoader> loader = ConfigLoader::from_args(argc, argv);
  if (!loader) {
    std::fprintf(stderr, "tierd: %s\n%s", loader.error().message.c_str(),
                 ConfigLoader::usage().c_str());
    return 2;
  }
  std::string out, err;
  if (int code = tier::daemon::run_action(*loader, &out, &err); code >= 0) {
    std::fputs(out.c_str(), stdout);
    std::fputs(err.c_str(), stderr);
    return code;
  }
  tier::Result<Config> config = loader->load();
  if (!config) {
    std::fprintf(stderr, "tierd: %s\n", config.error().message.c_str());
    return 1;
  }
  // Before the server opens anything: every descriptor it will hold counts against this. Said
  // only once the server is up, so that a start-up error stays the one line tierd prints.
  std::string limit_line;
  const bool raised = tier::daemon::raise_fd_limit(&limit_line);
  const ConfigLoader &l = *loader;
  auto reload = [&l]() -> tier::Result<DaemonOptions> {
    tier::Result<Config> c = l.load();
    if (!c) return c.error();
    return from_config(*c);
  };
  tier::Result<std::unique_ptr<tier::daemon::Server>> server =
      tier::daemon::Server::create(from_config(*config), reload);
  if (!server) {
    std::fprintf(stderr, "tierd: %s\n", server.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "tierd: %s: %s\n", raised ? "info" : "warn", limit_line.c_str());
  // The socket is bound and the topology resolved: clients can connect from here on.
  tier::daemon::notify_ready();
  tier::daemon::notify_status("serving on " + config->socket_path);
  const int status = (*server)->run();
  tier::daemon::notify_stopping();
  return status;
}
