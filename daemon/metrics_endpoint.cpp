// metrics_endpoint.cpp - prometheus-cpp's Exposer behind tierd's error conventions
// (metrics_endpoint.hpp).
#include "metrics_endpoint.hpp"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <cstdio>
#include <exception>
#include <mutex>
#include <vector>

namespace tier::daemon {

namespace {

// civetweb reports why it could not bind only through its log callback, and the Exposer's
// exception says no more than "possible problem binding to port". So its messages are caught
// here: while start() runs they are kept for the error; later ones (from civetweb's threads,
// e.g. a failed accept) are logged like tierd's own warnings.
std::mutex log_mutex;
bool capturing = false;
std::string captured;

int civetweb_log(const mg_connection *, const char *message) {
  std::lock_guard lock(log_mutex);
  if (capturing) {
    // civetweb ends with a generic "Failed to setup server ports"; the first line is the cause.
    if (captured.empty()) captured = message;
  } else {
    std::fprintf(stderr, "tierd: warn: metrics: %s\n", message);
  }
  return 1;  // handled: civetweb prints nothing itself
}

constexpr unsigned kCivetwebIpv6 = 8;  // mg_check_feature(): built with USE_IPV6

// civetweb says "cannot bind to 127.0.0.1:9464: 98 (Address already in use)"; the caller's
// message already names the address, so only the reason is kept.
std::string reason(std::string text, const std::string &spec) {
  const std::string prefix = "cannot bind to " + spec + ": ";
  if (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
  const size_t open = text.find(" (");
  if (open != std::string::npos && open > 0 && text.back() == ')' &&
      text.find_first_not_of("0123456789") == open)
    text = text.substr(open + 2, text.size() - open - 3);
  return text;
}

}  // namespace

std::string MetricsEndpoint::listen_spec(const std::string &address, uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(
    const std::string &address, uint16_t port,
    const std::shared_ptr<prometheus::Registry> &registry) {
  const std::string spec = listen_spec(address, port);
  if (address.find(':') != std::string::npos && mg_check_feature(kCivetwebIpv6) == 0)
    return make_error(TIER_ECONFIG,
                      "cannot listen on " + spec +
                          ": the installed civetweb (under prometheus-cpp) has no IPv6 support "
                          "(Debian bookworm builds it without); use an IPv4 address");
  static CivetCallbacks callbacks;  // stateless; the Exposer keeps a pointer to it
  callbacks.log_message = civetweb_log;
  // Two threads: a scraper and an operator's curl at the same time. A request that does not
  // complete in 10 s is dropped, so a slow or stalled peer cannot hold a thread for ever.
  const std::vector<std::string> options = {"listening_ports",    spec,   "num_threads", "2",
                                            "request_timeout_ms", "10000"};
  std::unique_ptr<MetricsEndpoint> e(new MetricsEndpoint);
  {
    std::unique_lock lock(log_mutex);
    capturing = true;
    captured.clear();
    lock.unlock();
    std::string failure;
    try {
      e->exposer_ = std::make_unique<prometheus::Exposer>(options, &callbacks);
    } catch (const std::exception &ex) {
      failure = ex.what();
    }
    lock.lock();
    capturing = false;
    if (!e->exposer_)
      return make_error(TIER_EOS, "cannot listen on " + spec + ": " +
                                      (captured.empty() ? failure : reason(captured, spec)));
  }
  e->exposer_->RegisterCollectable(registry);
  const std::vector<int> ports = e->exposer_->GetListeningPorts();
  e->port_ = ports.empty() ? port : static_cast<uint16_t>(ports.front());
  e->where_ = listen_spec(address, e->port_);
  return e;
}

MetricsEndpoint::~MetricsEndpoint() = default;

}  // namespace tier::daemon
