// server_metrics.cpp - the Server's side of its metrics (see server.hpp): starting the
// endpoint, publishing the placement's figures after each epoch, and applying a changed
// [metrics] section on reload. Event-loop thread only.
#include <string>
#include <vector>

#include "server.hpp"
#include "tier/tier.h"
#include "topology/topology.hpp"

namespace tier::daemon {

namespace {

std::string version() {
  return std::to_string(TIER_VERSION_MAJOR) + "." + std::to_string(TIER_VERSION_MINOR) + "." +
         std::to_string(TIER_VERSION_PATCH);
}

}  // namespace

Status Server::start_metrics() {
  if (!metrics_) metrics_ = std::make_unique<DaemonMetrics>(version());
  if (!options_.metrics_enabled) return {};
  Result<std::unique_ptr<MetricsEndpoint>> e =
      MetricsEndpoint::start(options_.metrics_address, options_.metrics_port, metrics_->registry());
  if (!e) return std::move(e).error().context("metrics");
  metrics_endpoint_ = std::move(*e);
  publish_metrics();
  log("info", "metrics on " + metrics_endpoint_->where());
  return {};
}

void Server::publish_metrics() {
  const std::vector<ClientState *> all = clients();
  const std::vector<NodeUsage> usage = placement_->node_usage(all);
  const std::vector<Node> &nodes = placement_->topology().nodes;
  std::vector<NodeFigures> figures;
  for (size_t i = 0; i < nodes.size() && i < usage.size(); ++i)
    figures.push_back({nodes[i].id, kind_name(nodes[i].kind), nodes[i].tier, nodes[i].capacity,
                       usage[i].used, usage[i].hot});
  metrics_->set_nodes(figures);
  metrics_->set_clients(client_count_);
  const Placement &p = *placement_;
  metrics_->set_totals({p.epochs_run, p.total_epoch_ns, p.last_epoch_ns, p.moved_bytes,
                        p.failed_bytes, p.table_refusals});
}

// A changed [metrics] section is applied: the old endpoint is stopped first (the new one may
// want the same port), then the new one started. If that fails the old one is restarted, so a
// typo in a reload does not leave a working endpoint off; if even that fails, metrics stay
// off until the next successful reload, and the log says so.
void Server::reload_metrics(const DaemonOptions &before) {
  const DaemonOptions &now = options_;
  if (now.metrics_enabled == before.metrics_enabled &&
      (!now.metrics_enabled ||
       (now.metrics_address == before.metrics_address && now.metrics_port == before.metrics_port)))
    return;
  const bool was_on = metrics_endpoint_ != nullptr;
  metrics_endpoint_.reset();
  if (!now.metrics_enabled) {
    log("info", "SIGHUP: metrics off");
    return;
  }
  Status s = start_metrics();
  if (s) return;  // start_metrics() logged where
  log("warn", "SIGHUP: " + s.error().message);
  options_.metrics_enabled = before.metrics_enabled;
  options_.metrics_address = before.metrics_address;
  options_.metrics_port = before.metrics_port;
  if (!was_on) return;
  if (Status back = start_metrics(); !back)
    log("error", "SIGHUP: metrics are off until a reload succeeds: " + back.error().message);
}

}  // namespace tier::daemon
