// agent.hpp - the in-process agent: the per-runtime placement engine and its thread.
//
// Agent is the per-runtime state behind include/tier/heat.h: the chunk table, the epoch runner
// (epoch/runner.hpp: heat rule, policy and its memory), the mover (emulated when the topology
// is emulated, else NUMA), a region directory (for unregistering and for the allocator's free
// hook), statistics, and the optional thread. Its epoch is the one tierd and tier-replay run,
// with the chunk table as the source (epoch/table_source.hpp).
//
// Thread-safety: Agent's public functions are safe from any thread. Epochs (thread or
// tier_epoch) are serialised by `epoch_mu_`; region (un)registration takes it too, so memory is
// never moved while its region is being forgotten. Touches and pins go straight to the chunk
// table, lock-free.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "client/daemon_link.hpp"
#include "client/fault_sampler.hpp"
#include "heat/chunk_table.hpp"
#include "epoch/runner.hpp"
#include "epoch/table_source.hpp"
#include "migrate/mover.hpp"
#include "policy/policy.hpp"
#include "policy/snapshot.hpp"
#include "tier/heat.h"

namespace tier::client {

// The epoch itself is libtier/epoch/runner.hpp's, with the chunk table as its source and the
// agent's mover as its sink (epoch/table_source.hpp).
using EpochReport = epoch::Report;

// ---- The per-runtime agent ----------------------------------------------------------------

struct AgentConfig {
  uint32_t period_ms = 100;
  uint64_t budget_bytes = 256ull << 20;
  double half_life_epochs = 4.0;
  uint64_t rate_bytes_per_second = 0;
  double low_watermark = 0.02;
  double high_watermark = 0.05;
};
Result<AgentConfig> config_from(const tier_agent_options *options);

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> create(tier_runtime *rt);
  ~Agent();  // stops the thread

  heat::ChunkTable &table() { return *table_; }

  Result<uint32_t> register_region(const void *ptr, size_t len, size_t group_hint, uint32_t flags);
  Status unregister_region(uint32_t id);
  // Forgets every region inside [ptr, ptr+len) after waiting for a running epoch: the hook the
  // allocator's free path calls, so that memory is never relocated while it is being freed.
  void forget_range(const void *ptr, size_t len);

  Status set_policy(const std::string &name);
  Result<EpochReport> epoch();
  // The last epoch's plan (before any filter), a copy taken under the epoch lock.
  policy::Plan last_plan();
  Status start(const AgentConfig &config);
  void stop();
  void fill_stats(tier_agent_stats *out);

  // tierd (daemon_link.hpp): while connected, tierd plans for this process and epoch() only
  // keeps the fault sampler going. daemon_sync() is the link thread's step under epoch_mu_;
  // false when the connection broke.
  bool daemon_connected() const { return link_ && link_->connected(); }
  bool daemon_sync();

  // fork(2) handlers (agent.cpp): the epoch lock is held across the fork, so a child never
  // inherits it held by the agent or link thread (which do not exist there).
  void lock_for_fork() { epoch_mu_.lock(); }
  void unlock_after_fork() { epoch_mu_.unlock(); }

 private:
  friend class DaemonLink;
  void note_daemon_moves(const migrate::MoveStats &stats);  // epoch_mu_ held

  explicit Agent(tier_runtime *rt) : rt_(rt) {}
  std::vector<policy::NodeState> node_states() const;
  int32_t node_of(uintptr_t addr) const;  // the node a chunk is on now (-1 = unknown)
  void loop();
  void drop_idle_sampler();  // epoch_mu_ held

  tier_runtime *rt_;
  std::unique_ptr<heat::ChunkTable> table_;

  std::mutex epoch_mu_;  // serialises epochs, region changes, policy and mover changes
  AgentConfig config_;
  std::unique_ptr<epoch::Runner> runner_;
  std::unique_ptr<epoch::TableSource> source_;
  std::unique_ptr<migrate::Mover> mover_;
  struct Region {
    size_t length;
    uint32_t id;
    bool sampled;
  };
  std::map<uintptr_t, Region> regions_;    // by base
  std::unique_ptr<FaultSampler> sampler_;  // created with the first sampled region
  uint64_t epoch_ = 0;

  // Statistics (written under epoch_mu_, read relaxed by fill_stats).
  std::atomic<uint64_t> epochs_{0}, promotions_{0}, demotions_{0}, bytes_moved_{0},
      pages_failed_{0}, refused_{0}, last_ns_{0}, max_ns_{0}, total_ns_{0};
  std::atomic<double> modelled_s_{0};
  std::atomic<uint64_t> sampled_faults_{0};

  std::mutex thread_mu_;  // guards thread_ and the stop flag handshake
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::atomic<bool> running_{false};

  std::unique_ptr<DaemonLink> link_;  // null when TIER_DAEMON=off
};

// The agent of a runtime: created on first use (nullptr and the last error set on failure),
// or looked up without creating (`create` false). Lock-free lookup.
Agent *agent_of(tier_runtime *rt, bool create);
// The calling thread's last agent_of() hit (agent.cpp says why it is sound). tier_touch reads
// it inline, so the common case makes no call.
struct AgentHit {
  tier_runtime *rt;
  uint32_t generation;
  Agent *agent;
};
extern thread_local constinit AgentHit t_agent_hit;
// The allocator's events (alloc/upper_hooks.hpp), installed when the first agent is created:
//  - before_free(rt, ptr, len): before a run is unmapped or cached, forgets regions inside it and
//    waits for a running epoch;
//  - on_runtime_destroy(rt): first thing in tier_runtime_destroy; stops the agent thread and
//    frees the heat state;
//  - fork: the agents' epoch locks are held across fork(2) (agent.cpp).
void before_free(tier_runtime *rt, const void *ptr, size_t len);
void on_runtime_destroy(tier_runtime *rt);

}  // namespace tier::client
