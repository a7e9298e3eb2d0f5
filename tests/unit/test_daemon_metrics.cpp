// test_daemon_metrics.cpp - tierd's metric families as a scraper reads them: the names, types
// and labels of docs/operations.md's table, zero-valued series present from the start, node
// series per node, and counters that follow running totals without double counting.
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <string>

#include "daemon_metrics.hpp"

using namespace tier::daemon;

namespace {

std::string scrape(const DaemonMetrics &m) {
  return prometheus::TextSerializer().Serialize(m.registry()->Collect());
}

bool has_line(const std::string &text, const std::string &line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("every documented family is exported with its type, starting at zero",
          "[daemon][metrics]") {
  DaemonMetrics m("1.2.3");
  const std::string t = scrape(m);
  for (const char *line : {
           "# TYPE tier_clients gauge",
           "tier_clients 0",
           "# TYPE tier_clients_refused_total counter",
           "tier_clients_refused_total{reason=\"max_clients\"} 0",
           "tier_clients_refused_total{reason=\"topology\"} 0",
           "tier_clients_refused_total{reason=\"invalid\"} 0",
           "tier_clients_refused_total{reason=\"exited\"} 0",
           "# TYPE tier_epochs_total counter",
           "tier_epochs_total 0",
           "# TYPE tier_epoch_seconds_total counter",
           "tier_epoch_seconds_total 0",
           "# TYPE tier_epoch_last_seconds gauge",
           "# TYPE tier_migrated_bytes_total counter",
           "tier_migrated_bytes_total{reason=\"promote\"} 0",
           "tier_migrated_bytes_total{reason=\"demote\"} 0",
           "tier_migrated_bytes_total{reason=\"rebalance\"} 0",
           "tier_migrated_bytes_total{reason=\"manual\"} 0",
           "# TYPE tier_migration_failed_bytes_total counter",
           "tier_migration_failed_bytes_total{reason=\"promote\"} 0",
           "# TYPE tier_refused_messages_total counter",
           "tier_refused_messages_total{reason=\"malformed\"} 0",
           "tier_refused_messages_total{reason=\"unauthorised\"} 0",
           "tier_refused_messages_total{reason=\"invalid\"} 0",
           "tier_refused_messages_total{reason=\"table\"} 0",
           "# TYPE tier_config_reloads_total counter",
           "tier_config_reloads_total{result=\"applied\"} 0",
           "tier_config_reloads_total{result=\"refused\"} 0",
           "# TYPE tier_build_info gauge",
           "tier_build_info{version=\"1.2.3\"} 1",
       }) {
    INFO(line);
    CHECK(has_line(t, line));
  }
  // No node is known until the server publishes them, and prometheus-cpp leaves a family
  // without series out.
  CHECK(t.find("tier_node_capacity_bytes") == std::string::npos);
}

TEST_CASE("node gauges carry node, kind and tier and follow the latest figures",
          "[daemon][metrics]") {
  DaemonMetrics m("0.1.0");
  m.set_nodes({{0, "dram", 1, 512u << 20, 4096, 0}, {1, "hbm", 0, 40u << 20, 8192, 2048}});
  m.set_nodes({{0, "dram", 1, 512u << 20, 1u << 20, 4096}, {1, "hbm", 0, 40u << 20, 0, 0}});
  const std::string t = scrape(m);
  CHECK(has_line(t, "# TYPE tier_node_capacity_bytes gauge"));
  CHECK(has_line(t, "# TYPE tier_node_used_bytes gauge"));
  CHECK(has_line(t, "# TYPE tier_node_hot_bytes gauge"));
  CHECK(has_line(t, "tier_node_capacity_bytes{kind=\"dram\",node=\"0\",tier=\"1\"} 536870912"));
  CHECK(has_line(t, "tier_node_capacity_bytes{kind=\"hbm\",node=\"1\",tier=\"0\"} 41943040"));
  CHECK(has_line(t, "tier_node_used_bytes{kind=\"dram\",node=\"0\",tier=\"1\"} 1048576"));
  CHECK(has_line(t, "tier_node_used_bytes{kind=\"hbm\",node=\"1\",tier=\"0\"} 0"));
  CHECK(has_line(t, "tier_node_hot_bytes{kind=\"dram\",node=\"0\",tier=\"1\"} 4096"));
}

TEST_CASE("events count under their reason; clients is a gauge", "[daemon][metrics]") {
  DaemonMetrics m("0.1.0");
  m.set_clients(3);
  m.set_clients(2);
  m.client_refused(ClientRefusal::kMaxClients);
  m.client_refused(ClientRefusal::kMaxClients);
  m.client_refused(ClientRefusal::kExited);
  m.message_refused(MessageRefusal::kUnauthorised);
  m.reload(true);
  m.reload(false);
  m.reload(true);
  const std::string t = scrape(m);
  CHECK(has_line(t, "tier_clients 2"));
  CHECK(has_line(t, "tier_clients_refused_total{reason=\"max_clients\"} 2"));
  CHECK(has_line(t, "tier_clients_refused_total{reason=\"exited\"} 1"));
  CHECK(has_line(t, "tier_clients_refused_total{reason=\"topology\"} 0"));
  CHECK(has_line(t, "tier_refused_messages_total{reason=\"unauthorised\"} 1"));
  CHECK(has_line(t, "tier_config_reloads_total{result=\"applied\"} 2"));
  CHECK(has_line(t, "tier_config_reloads_total{result=\"refused\"} 1"));
}

TEST_CASE("counters follow running totals: publishing twice does not double count",
          "[daemon][metrics]") {
  DaemonMetrics m("0.1.0");
  PlacementTotals t;
  t.epochs = 10;
  t.epoch_ns_total = 1'500'000'000;
  t.last_epoch_ns = 250'000'000;
  t.moved_bytes[static_cast<size_t>(MoveReason::kPromote)] = 1 << 20;
  t.failed_bytes[static_cast<size_t>(MoveReason::kDemote)] = 4096;
  t.table_refusals = 2;
  m.message_refused(MessageRefusal::kTable);  // not counted from the totals; adds up with them
  m.set_totals(t);
  m.set_totals(t);
  std::string s = scrape(m);
  CHECK(has_line(s, "tier_epochs_total 10"));
  CHECK(has_line(s, "tier_epoch_seconds_total 1.5"));
  CHECK(has_line(s, "tier_epoch_last_seconds 0.25"));
  CHECK(has_line(s, "tier_migrated_bytes_total{reason=\"promote\"} 1048576"));
  CHECK(has_line(s, "tier_migration_failed_bytes_total{reason=\"demote\"} 4096"));
  CHECK(has_line(s, "tier_refused_messages_total{reason=\"table\"} 3"));

  t.epochs = 12;
  t.moved_bytes[static_cast<size_t>(MoveReason::kManual)] = 8192;
  m.set_totals(t);
  s = scrape(m);
  CHECK(has_line(s, "tier_epochs_total 12"));
  CHECK(has_line(s, "tier_migrated_bytes_total{reason=\"manual\"} 8192"));
  CHECK(has_line(s, "tier_migrated_bytes_total{reason=\"promote\"} 1048576"));

  // A smaller total (a bug elsewhere) never makes a counter go down.
  t.epochs = 5;
  m.set_totals(t);
  CHECK(has_line(scrape(m), "tier_epochs_total 12"));
}
