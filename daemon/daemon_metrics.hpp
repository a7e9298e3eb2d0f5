// daemon_metrics.hpp - tierd's Prometheus metrics: one prometheus::Registry (prometheus-cpp)
// holding the families listed in docs/operations.md ("Metrics"), and the calls that update
// them from tierd's event loop.
//
// The event loop pushes figures in; nothing here reads the server's state. The registry is
// read by the metrics endpoint's civetweb threads (metrics_endpoint.hpp) while the loop
// updates it: prometheus-cpp's metric objects are atomics and its families lock their own
// series, so that is safe without a lock of ours.
//
// Counters that mirror a running total kept elsewhere (epochs, migrated bytes) are advanced by
// the difference from the total last seen, so publishing twice never double counts.
//
// Thread-safety: the update calls from one thread (the event loop); registry() from any.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "placement.hpp"

namespace tier::daemon {

// Why a hello was refused (tier_clients_refused_total{reason}).
enum class ClientRefusal : uint8_t {
  kMaxClients,  // tierd already serves max_clients
  kTopology,    // the client's topology does not match tierd's (emulated vs real, a node)
  kInvalid,     // a malformed hello, a second hello, a bad or missing table memfd
  kExited,      // the peer exited before tierd could watch it (no pidfd)
};
inline constexpr size_t kClientRefusals = 4;

// Why a message was refused (tier_refused_messages_total{reason}), by the status it got.
enum class MessageRefusal : uint8_t {
  kMalformed,     // TIER_EPROTO: not a valid message, or not valid at this point
  kUnauthorised,  // TIER_EPERM: an admin request from a non-admin
  kInvalid,       // any other status: a well-formed request tierd cannot carry out
  kTable,         // a client's shared table failed its checks in an epoch
};
inline constexpr size_t kMessageRefusals = 4;

// One node's row: topology facts and the latest usage.
struct NodeFigures {
  int32_t id = 0;
  std::string kind;  // kind_name(): "hbm", "dram", "cxl", ...
  int tier = 0;
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint64_t hot = 0;
};

// Running totals of the placement (Placement's public counters).
struct PlacementTotals {
  uint64_t epochs = 0;
  uint64_t epoch_ns_total = 0;
  uint64_t last_epoch_ns = 0;
  std::array<uint64_t, kMoveReasons> moved_bytes{}, failed_bytes{};
  uint64_t table_refusals = 0;
};

class DaemonMetrics {
 public:
  // Registers every family; series with a fixed label set start at 0 so rate() works from
  // the first scrape. `version` labels tier_build_info.
  explicit DaemonMetrics(const std::string &version);
  DaemonMetrics(const DaemonMetrics &) = delete;
  DaemonMetrics &operator=(const DaemonMetrics &) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // Node gauges; a node's series are created the first time it is seen.
  void set_nodes(const std::vector<NodeFigures> &nodes);
  void set_clients(size_t connected);
  void client_refused(ClientRefusal reason);
  void message_refused(MessageRefusal reason);
  void reload(bool applied);
  // Advances the counters to `totals` (which only grow) and sets the last epoch's duration.
  void set_totals(const PlacementTotals &totals);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge> *capacity_, *used_, *hot_;
  struct NodeSeries {
    prometheus::Gauge *capacity, *used, *hot;
  };
  std::map<int32_t, NodeSeries> nodes_;
  prometheus::Gauge *clients_;
  std::array<prometheus::Counter *, kClientRefusals> clients_refused_{};
  std::array<prometheus::Counter *, kMessageRefusals> refused_{};
  prometheus::Counter *epochs_, *epoch_seconds_;
  prometheus::Gauge *epoch_last_;
  std::array<prometheus::Counter *, kMoveReasons> migrated_{}, failed_{};
  prometheus::Counter *reloads_applied_ = nullptr, *reloads_refused_ = nullptr;
  PlacementTotals seen_;
};

}  // namespace tier::daemon
