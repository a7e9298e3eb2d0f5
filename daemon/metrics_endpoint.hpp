// metrics_endpoint.hpp - serves a prometheus::Registry as GET /metrics over HTTP, with
// prometheus-cpp's Exposer (an embedded civetweb server with its own threads).
//
// The Exposer's threads only read the registry (see daemon_metrics.hpp); they never touch
// tierd's own state. They are started by start(), so whoever calls it must already have
// blocked the signals the event loop reads from its signalfd: threads inherit the mask, and a
// SIGTERM delivered to a civetweb thread would otherwise kill tierd without a clean stop.
//
// Thread-safety: start() and the destructor (which stops and joins the threads) on one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace tier::daemon {

class MetricsEndpoint {
 public:
  // Listens on address:port (a literal IPv4 address, or IPv6 where civetweb was built with
  // it; port 0 = any free port). Errors (TIER_ECONFIG for an address civetweb cannot use,
  // TIER_EOS when binding fails) name the address and civetweb's reason, e.g.
  //   cannot listen on 127.0.0.1:9464: Address already in use
  static Result<std::unique_ptr<MetricsEndpoint>> start(
      const std::string &address, uint16_t port,
      const std::shared_ptr<prometheus::Registry> &registry);
  ~MetricsEndpoint();

  // Where it listens, the port resolved: "127.0.0.1:9464", "[::1]:9464".
  const std::string &where() const { return where_; }
  uint16_t port() const { return port_; }

  // "host:port" as civetweb's listening_ports wants it (IPv6 in brackets).
  static std::string listen_spec(const std::string &address, uint16_t port);

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string where_;
  uint16_t port_ = 0;
};

}  // namespace tier::daemon
