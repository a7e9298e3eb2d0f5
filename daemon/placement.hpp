// placement.hpp - tierd's global epoch: every client's chunks in one snapshot, one plan under
// each tier's capacity, then the moves carried out per client.
//
// The epoch is the engine's (epoch/runner.hpp), the same the in-process agent and tier-replay
// run; Placement is its adapter over the clients: the source, the quota filter, the sink.
// Each epoch: read every client's shared table (client_state.hpp), build one policy::Snapshot
// (chunk ids are positions in this epoch's list; owners are client ids; groups renumbered per
// client so they stay distinct; temperatures weighted by the client's priority, 2^(p/100)), plan
// with the configured policy (the same policy code as the in-process agent), drop promotions
// that would take a client over its fast-tier quota, then move:
//   real NUMA    move_pages(pid, ...) through a NUMA mover per client, from this thread;
//   emulated     the moves are written into the client's shared table as a request batch, and
//                the client's own emulated mover carries them out at its next sync (the
//                memory and the emulated node accounting live in the client's address space).
// A client whose previous batch is not applied yet gets no new one (its next epoch replans).
//
// Thread-safety: event-loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/daemon_protocol.hpp"
#include "client_state.hpp"
#include "common/result.hpp"
#include "daemon_options.hpp"
#include "epoch/runner.hpp"
#include "policy/policy.hpp"
#include "topology/topology.hpp"

namespace tier::daemon {

// One epoch's report: the engine's own (epoch/runner.hpp). `chunks` counts every client's
// chunks read, `rows` those shown to the policy, `moves_filtered` the promotions dropped by
// fast-tier quotas, `moves_issued` the moves carried out (NUMA) or handed to clients (emulated).
using EpochSummary = epoch::Report;

// Why a move was made, for the migration counters (tier_migrated_bytes_total{reason}):
// the policy's moves by tier rank (to a faster tier, a slower one, or another node of the same
// tier), and tierctl migrate's, whatever their direction.
enum class MoveReason : uint8_t { kPromote, kDemote, kRebalance, kManual };
inline constexpr size_t kMoveReasons = 4;
const char *move_reason_name(MoveReason reason);  // "promote", "demote", "rebalance", "manual"

// Registered bytes on one node of the topology, as the clients last published them.
struct NodeUsage {
  int32_t id = 0;
  uint64_t used = 0;
  uint64_t hot = 0;  // of those, in the hot set: the hottest bytes that fit the faster tiers
};

class Placement {
 public:
  // `log(level, text)` receives refusals and errors.
  using LogFn = std::function<void(const char *level, const std::string &text)>;
  static Result<std::unique_ptr<Placement>> create(const DaemonOptions &options, Topology topology,
                                                   LogFn log);

  const Topology &topology() const { return topology_; }
  const std::vector<int32_t> &node_ids() const { return node_ids_; }
  bool emulated() const { return topology_.emulated; }
  int tier_of(int32_t node) const;
  const char *policy_name() const { return runner_->policy().name(); }

  Status set_policy(const std::string &name);
  // The epoch engine (its last snapshot and plan, for tests and diagnostics).
  const epoch::Runner &runner() const { return *runner_; }
  // Options that may change on reload (policy is set separately).
  void set_tuning(const DaemonOptions &options);

  // One epoch over `clients` (any order).
  EpochSummary run_epoch(const std::vector<ClientState *> &clients);

  // Moves [start, end) of `client`'s registered chunks to `node` now (tierctl migrate).
  // TIER_EINVAL when the range is not wholly inside its registered regions or the node is
  // unknown; the number of chunks handed to the mover otherwise.
  Result<uint64_t> migrate(ClientState *client, uint64_t start, uint64_t end, int32_t node);

  // The capacity the plans keep `node` within: the CXL pool's host side sets its pool node's to
  // the extents it holds (daemon/pool/pool_host.hpp). TIER_EINVAL for an unknown node.
  Status set_node_capacity(int32_t node, uint64_t bytes);

  // Moves at least `bytes` of the chunks on `node` (the coldest first, pinned ones never) to
  // other nodes with room under their capacity, the nearest tier first (placement_evacuate.cpp).
  // Returns the bytes handed to the movers now; fewer when the other nodes are full or a client
  // has not applied its previous batch (the caller asks again at the next epoch).
  uint64_t evacuate(const std::vector<ClientState *> &clients, int32_t node, uint64_t bytes);

  // Per node of topology().nodes, in that order.
  std::vector<NodeUsage> node_usage(const std::vector<ClientState *> &clients) const;

  // Status figures.
  void fill_status(daemon_proto::StatusReply *out, const std::vector<ClientState *> &clients) const;
  void fill_client(daemon_proto::ClientStatus *out, const ClientState &client) const;

 private:
  Placement(const DaemonOptions &options, Topology topology, LogFn log);
  class Source;  // the epoch's adapters (placement.cpp)
  class QuotaFilter;
  class Sink;
  // Carries out `moves` (indices into the client's chunks) for one client; sets (*landed)[i]
  // for each move carried out (NUMA) or handed to the client (emulated) and returns their
  // number.
  struct PlannedMove {
    size_t chunk;  // index in the client's chunks
    int32_t to;
  };
  uint64_t dispatch(ClientState *client, const std::vector<PlannedMove> &moves, uint64_t *bytes,
                    bool manual, std::vector<bool> *landed = nullptr);
  MoveReason reason_of(int32_t from, int32_t to, bool manual) const;
  void collect_results(ClientState *client);
  void refresh_nodes(ClientState *client);
  epoch::RunnerConfig runner_config() const;

  struct Ref {  // a snapshot chunk id -> the client and its chunk
    ClientState *client;
    size_t index;
  };
  std::vector<Ref> refs_;
  DaemonOptions options_;
  Topology topology_;
  std::vector<int32_t> node_ids_;
  LogFn log_;
  std::unique_ptr<epoch::Runner> runner_;
  uint64_t epoch_ = 0;
  uint64_t epoch_bytes_ = 0;  // bytes the current epoch's sink moved or handed over

 public:
  // Totals (read by status).
  uint64_t epochs_run = 0, last_epoch_ns = 0, max_epoch_ns = 0, total_epoch_ns = 0;
  uint64_t moves_total = 0, bytes_total = 0, refusals_total = 0, chunks_last = 0;
  double migrations_per_s = 0;
  // For metrics: bytes the kernel (real NUMA) or the client's mover (emulated, as the client
  // reports it) did and did not move, by reason; and shared tables refused in epochs (also
  // counted in refusals_total).
  std::array<uint64_t, kMoveReasons> moved_bytes{}, failed_bytes{};
  uint64_t table_refusals = 0;
};

}  // namespace tier::daemon
