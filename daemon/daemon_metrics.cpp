// daemon_metrics.cpp - tierd's metric families (daemon_metrics.hpp). Names and help texts are
// the table in docs/operations.md; a change here is a change there.
#include "daemon_metrics.hpp"

#include <algorithm>

namespace tier::daemon {

namespace pm = prometheus;

namespace {

constexpr const char *kClientRefusalNames[kClientRefusals] = {"max_clients", "topology", "invalid",
                                                              "exited"};
constexpr const char *kMessageRefusalNames[kMessageRefusals] = {"malformed", "unauthorised",
                                                                "invalid", "table"};

// Advances `counter` from the total seen last to `total`; a total never goes down (a smaller
// one would be a bug elsewhere and is ignored rather than made a negative increment).
void advance(pm::Counter *counter, uint64_t &seen, uint64_t total) {
  if (total > seen) counter->Increment(static_cast<double>(total - seen));
  seen = std::max(seen, total);
}

}  // namespace

DaemonMetrics::DaemonMetrics(const std::string &version)
    : registry_(std::make_shared<pm::Registry>()) {
  pm::Registry &r = *registry_;
  capacity_ = &pm::BuildGauge()
                   .Name("tier_node_capacity_bytes")
                   .Help("Usable capacity of the node.")
                   .Register(r);
  used_ = &pm::BuildGauge()
               .Name("tier_node_used_bytes")
               .Help("Bytes of registered memory on the node.")
               .Register(r);
  hot_ =
      &pm::BuildGauge()
           .Name("tier_node_hot_bytes")
           .Help("Bytes on the node in the hot set (the hottest bytes that fit the faster tiers).")
           .Register(r);
  clients_ = &pm::BuildGauge().Name("tier_clients").Help("Connected clients.").Register(r).Add({});
  auto &clients_refused = pm::BuildCounter()
                              .Name("tier_clients_refused_total")
                              .Help("Client hellos refused.")
                              .Register(r);
  for (size_t i = 0; i < kClientRefusals; ++i)
    clients_refused_[i] = &clients_refused.Add({{"reason", kClientRefusalNames[i]}});
  auto &refused = pm::BuildCounter()
                      .Name("tier_refused_messages_total")
                      .Help("Messages and shared tables refused.")
                      .Register(r);
  for (size_t i = 0; i < kMessageRefusals; ++i)
    refused_[i] = &refused.Add({{"reason", kMessageRefusalNames[i]}});
  epochs_ = &pm::BuildCounter()
                 .Name("tier_epochs_total")
                 .Help("Placement epochs run.")
                 .Register(r)
                 .Add({});
  epoch_seconds_ = &pm::BuildCounter()
                        .Name("tier_epoch_seconds_total")
                        .Help("Time spent in epochs (planning and migration).")
                        .Register(r)
                        .Add({});
  epoch_last_ = &pm::BuildGauge()
                     .Name("tier_epoch_last_seconds")
                     .Help("Duration of the latest epoch.")
                     .Register(r)
                     .Add({});
  auto &migrated =
      pm::BuildCounter().Name("tier_migrated_bytes_total").Help("Bytes moved.").Register(r);
  auto &failed = pm::BuildCounter()
                     .Name("tier_migration_failed_bytes_total")
                     .Help("Bytes a move was issued for but not moved.")
                     .Register(r);
  for (size_t i = 0; i < kMoveReasons; ++i) {
    const char *name = move_reason_name(static_cast<MoveReason>(i));
    migrated_[i] = &migrated.Add({{"reason", name}});
    failed_[i] = &failed.Add({{"reason", name}});
  }
  auto &reloads = pm::BuildCounter()
                      .Name("tier_config_reloads_total")
                      .Help("Configuration reloads (SIGHUP).")
                      .Register(r);
  reloads_applied_ = &reloads.Add({{"result", "applied"}});
  reloads_refused_ = &reloads.Add({{"result", "refused"}});
  pm::BuildGauge()
      .Name("tier_build_info")
      .Help("The running tierd's version (always 1).")
      .Register(r)
      .Add({{"version", version}})
      .Set(1);
}

void DaemonMetrics::set_nodes(const std::vector<NodeFigures> &nodes) {
  for (const NodeFigures &n : nodes) {
    auto it = nodes_.find(n.id);
    if (it == nodes_.end()) {
      const pm::Labels labels = {
          {"node", std::to_string(n.id)}, {"kind", n.kind}, {"tier", std::to_string(n.tier)}};
      it = nodes_
               .emplace(n.id, NodeSeries{&capacity_->Add(labels), &used_->Add(labels),
                                         &hot_->Add(labels)})
               .first;
    }
    it->second.capacity->Set(static_cast<double>(n.capacity));
    it->second.used->Set(static_cast<double>(n.used));
    it->second.hot->Set(static_cast<double>(n.hot));
  }
}

void DaemonMetrics::set_clients(size_t connected) {
  clients_->Set(static_cast<double>(connected));
}

void DaemonMetrics::client_refused(ClientRefusal reason) {
  clients_refused_[static_cast<size_t>(reason)]->Increment();
}

void DaemonMetrics::message_refused(MessageRefusal reason) {
  refused_[static_cast<size_t>(reason)]->Increment();
}

void DaemonMetrics::reload(bool applied) {
  (applied ? reloads_applied_ : reloads_refused_)->Increment();
}

void DaemonMetrics::set_totals(const PlacementTotals &t) {
  advance(epochs_, seen_.epochs, t.epochs);
  // Seconds from the nanosecond total: advanced by whole differences so no rounding drifts.
  if (t.epoch_ns_total > seen_.epoch_ns_total)
    epoch_seconds_->Increment(static_cast<double>(t.epoch_ns_total - seen_.epoch_ns_total) / 1e9);
  seen_.epoch_ns_total = std::max(seen_.epoch_ns_total, t.epoch_ns_total);
  epoch_last_->Set(static_cast<double>(t.last_epoch_ns) / 1e9);
  for (size_t i = 0; i < kMoveReasons; ++i) {
    advance(migrated_[i], seen_.moved_bytes[i], t.moved_bytes[i]);
    advance(failed_[i], seen_.failed_bytes[i], t.failed_bytes[i]);
  }
  advance(refused_[static_cast<size_t>(MessageRefusal::kTable)], seen_.table_refusals,
          t.table_refusals);
}

}  // namespace tier::daemon
