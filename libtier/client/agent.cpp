// agent.cpp - the epoch step and the per-runtime agent (see agent.hpp).
//
// Thread-safety: as agent.hpp says. The side table from runtime to agent is a fixed array read
// lock-free (tier_touch looks its agent up on every call) and written under a mutex.
#include "client/agent.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "alloc/page_map.hpp"
#include "alloc/runtime.hpp"
#include "alloc/upper_hooks.hpp"
#include "client/daemon_protocol.hpp"
#include "emu/cost_model.hpp"
#include "heat/source.hpp"
#include "migrate/rate_limit.hpp"
#include "prim/os.hpp"

namespace tier::client {

using migrate::monotonic_ns;

// ---- configuration ------------------------------------------------------------------------

Result<AgentConfig> config_from(const tier_agent_options *o) {
  AgentConfig c;
  if (!o) return c;
  if (o->size < offsetof(tier_agent_options, flags) + sizeof(uint32_t))
    return make_error(TIER_EINVAL, "tier_agent_options: size " + std::to_string(o->size) +
                                       " is too small (use TIER_AGENT_OPTIONS_INIT)");
  if (o->period_ms < 1 || o->period_ms > 3600000)
    return make_error(TIER_ECONFIG, "tier_agent_options.period_ms: " +
                                        std::to_string(o->period_ms) + " is outside 1..3600000");
  if (!(o->half_life_epochs > 0) || !std::isfinite(o->half_life_epochs))
    return make_error(TIER_ECONFIG, "tier_agent_options.half_life_epochs must be > 0");
  if (!(o->low_watermark >= 0 && o->low_watermark <= o->high_watermark && o->high_watermark < 1))
    return make_error(TIER_ECONFIG,
                      "tier_agent_options: watermarks must satisfy 0 <= low_watermark <= "
                      "high_watermark < 1");
  if (o->flags != 0) return make_error(TIER_ECONFIG, "tier_agent_options.flags must be 0");
  c.period_ms = o->period_ms;
  c.budget_bytes = o->budget_bytes_per_epoch ? o->budget_bytes_per_epoch : UINT64_MAX;
  c.half_life_epochs = o->half_life_epochs;
  c.rate_bytes_per_second = o->rate_bytes_per_second;
  c.low_watermark = o->low_watermark;
  c.high_watermark = o->high_watermark;
  return c;
}

// ---- Agent --------------------------------------------------------------------------------

namespace {

// The agent's epoch configuration. The chunk table's snapshot is valid by construction except
// for what registration races could leave, so it is still validated (cheap at agent scale).
epoch::RunnerConfig runner_config(const AgentConfig &c) {
  epoch::RunnerConfig rc;
  rc.temperature.half_life_epochs = c.half_life_epochs;
  rc.budget_bytes = c.budget_bytes;
  return rc;
}

Result<std::unique_ptr<migrate::Mover>> make_mover(tier_runtime *rt, const AgentConfig &c) {
  migrate::RateLimit rate;
  rate.bytes_per_second = c.rate_bytes_per_second;
  Result<migrate::Mover> m = [&] {
    if (rt->topology.emulated) {
      migrate::EmulatedMoverOptions eo;
      eo.rate = rate;
      return migrate::Mover::emulated(rt, eo);
    }
    migrate::NumaMoverOptions no;
    no.rate = rate;
    return migrate::Mover::numa(no);
  }();
  if (!m) return std::move(m).error();
  return std::make_unique<migrate::Mover>(std::move(*m));
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::create(tier_runtime *rt) {
  std::unique_ptr<Agent> a(new Agent(rt));
  Result<std::unique_ptr<heat::ChunkTable>> t = heat::ChunkTable::create({});
  if (!t) return std::move(t).error();
  a->table_ = std::move(*t);
  Result<policy::Policy> p = policy::make_policy(policy::kDefaultPolicy);
  if (!p) return std::move(p).error();
  a->runner_ = std::make_unique<epoch::Runner>(runner_config(a->config_), *p);
  a->source_ = std::make_unique<epoch::TableSource>(a->table_.get());
  Result<std::unique_ptr<migrate::Mover>> m = make_mover(rt, a->config_);
  if (!m) return std::move(m).error();
  a->mover_ = std::move(*m);
  if (const DaemonMode mode = daemon_mode_from_env(); mode != DaemonMode::kOff)
    a->link_ =
        std::make_unique<DaemonLink>(a.get(), rt, mode, daemon_proto::socket_path_from_env());
  // The first runtime's table also serves tier::heat::touch() (the process-wide API source).
  if (!heat::process_table()) heat::set_process_table(a->table_.get());
  return a;
}

Agent::~Agent() {
  // The link's thread syncs through this agent (daemon_sync reads link_), and the agent's
  // thread asks the link whether tierd serves: both threads stop before link_ is reset, or the
  // reset races with their reads of it (ThreadSanitizer, integration_daemon_robustness).
  if (link_) link_->stop();
  stop();
  link_.reset();
  sampler_.reset();  // restores sampled pages before the table goes
  if (heat::process_table() == table_.get()) heat::set_process_table(nullptr);
}

int32_t Agent::node_of(uintptr_t addr) const {
  if (rt_->topology.emulated) {
    // Virtual nodes: the page map is the truth; the kernel only sees the backing node.
    alloc::PageMap *pm = alloc::PageMap::existing();
    if (!pm) return -1;
    const alloc::Granule g = pm->get(reinterpret_cast<const void *>(addr));
    if (g.runtime != rt_->generation || g.node_slot >= rt_->nnodes) return -1;
    return rt_->nodes[g.node_slot].node.id;
  }
  void *page = reinterpret_cast<void *>(addr & ~(prim::kPageSize - 1));
  int status = -1;
  if (!prim::query_nodes(&page, 1, &status)) return -1;
  return status >= 0 ? status : -1;
}

Result<uint32_t> Agent::register_region(const void *ptr, size_t len, size_t group_hint,
                                        uint32_t flags) {
  if (!ptr || len == 0) return make_error(TIER_EINVAL, "tier_region_register: empty range");
  if (flags & ~uint32_t{TIER_REGION_PINNED | TIER_REGION_SAMPLE_FAULTS})
    return make_error(TIER_EINVAL, "tier_region_register: unknown flags");
  // Registered regions are what tierd manages: the link starts with the first one.
  if (link_)
    if (Status s = link_->start(); !s) return std::move(s).error().context("tier_region_register");
  std::lock_guard lock(epoch_mu_);
  const auto base = reinterpret_cast<uintptr_t>(ptr);
  const bool sampled = flags & TIER_REGION_SAMPLE_FAULTS;
  if (sampled && !sampler_) {
    Result<std::unique_ptr<FaultSampler>> fs = FaultSampler::create(table_.get());
    if (!fs) return std::move(fs).error().context("tier_region_register");
    sampler_ = std::move(*fs);
  }
  heat::RegionSpec spec;
  spec.base = ptr;
  spec.length = len;
  spec.owner = static_cast<uint32_t>(getpid());
  spec.node = node_of(base);
  spec.pinned = flags & TIER_REGION_PINNED;
  spec.one_group = group_hint == TIER_GROUP_WHOLE;
  Result<heat::RegionId> id = table_->register_region(spec);
  if (!id) return std::move(id).error();
  const uint64_t cs = table_->chunk_size();
  if (group_hint != TIER_GROUP_NONE && group_hint != TIER_GROUP_WHOLE) {
    const uint64_t step = (group_hint + cs - 1) / cs * cs;
    for (uint64_t off = 0; off < len; off += step) {
      Result<heat::GroupId> g = table_->define_group(static_cast<const char *>(ptr) + off,
                                                     std::min<uint64_t>(step, len - off));
      if (!g) {
        (void)table_->unregister_region(*id);
        return std::move(g).error().context("tier_region_register: object group");
      }
    }
  }
  // Each chunk starts on the node it is on now (allocations may span nodes).
  for (uintptr_t w = base & ~(cs - 1); w < base + len; w += cs)
    if (heat::Chunk *c = table_->find(reinterpret_cast<const void *>(std::max(w, base))))
      c->node.store(node_of(std::max(w, base)), std::memory_order_relaxed);
  regions_[base] = Region{len, static_cast<uint32_t>(*id), sampled};
  if (sampled) sampler_->add_range(base, len);
  return static_cast<uint32_t>(*id);
}

Status Agent::unregister_region(uint32_t id) {
  std::lock_guard lock(epoch_mu_);
  Status s = table_->unregister_region(id);
  if (!s) return s;
  for (auto it = regions_.begin(); it != regions_.end(); ++it)
    if (it->second.id == id) {
      if (it->second.sampled && sampler_) sampler_->remove_range(it->first, it->second.length);
      regions_.erase(it);
      break;
    }
  drop_idle_sampler();
  return {};
}

void Agent::forget_range(const void *ptr, size_t len) {
  std::lock_guard lock(epoch_mu_);
  const auto a = reinterpret_cast<uintptr_t>(ptr);
  for (auto it = regions_.lower_bound(a); it != regions_.end() && it->first < a + len;) {
    if (it->second.sampled && sampler_) sampler_->remove_range(it->first, it->second.length);
    (void)table_->unregister_region(it->second.id);
    it = regions_.erase(it);
  }
  drop_idle_sampler();
}

void Agent::drop_idle_sampler() {
  // The sampler is process-wide (one fault hook): give it up as soon as no region uses it, so
  // another runtime can sample.
  if (!sampler_) return;
  for (const auto &r : regions_)
    if (r.second.sampled) return;
  sampler_.reset();
}

Status Agent::set_policy(const std::string &name) {
  Result<policy::Policy> p = policy::make_policy(name);
  if (!p) return std::move(p).error();
  std::lock_guard lock(epoch_mu_);
  runner_->set_policy(*p);
  return {};
}

std::vector<policy::NodeState> Agent::node_states() const {
  std::vector<policy::NodeState> out;
  for (int i = 0; i < rt_->nnodes; ++i) {
    const alloc::NodeState &ns = rt_->nodes[i];
    policy::NodeState n = emu::node_state(ns.node);  // figures priced by the cost model
    n.capacity = ns.capacity.load(std::memory_order_relaxed);
    // Cached free runs are room: allocation and the emulated mover evict them when they need it.
    const uint64_t reserved = ns.reserved.load(std::memory_order_relaxed);
    const uint64_t cached = ns.cached.load(std::memory_order_relaxed);
    n.used = reserved > cached ? reserved - cached : 0;
    out.push_back(n);
  }
  epoch::apply_watermarks(&out, config_.low_watermark, config_.high_watermark);
  return out;
}

bool Agent::daemon_sync() {
  std::lock_guard lock(epoch_mu_);
  return link_ && link_->sync_locked();
}

void Agent::note_daemon_moves(const migrate::MoveStats &stats) {
  bytes_moved_.fetch_add(stats.bytes_moved, std::memory_order_relaxed);
  pages_failed_.fetch_add(stats.pages_failed, std::memory_order_relaxed);
  refused_.fetch_add(stats.ranges_refused, std::memory_order_relaxed);
  modelled_s_.store(modelled_s_.load(std::memory_order_relaxed) + stats.modelled_s,
                    std::memory_order_relaxed);
}

Result<EpochReport> Agent::epoch() {
  std::lock_guard lock(epoch_mu_);
  // Chunks whose node was unknown (not faulted in at registration) are looked up again.
  table_->scan([&](heat::SlotId, heat::Chunk &c, const heat::RegionInfo &, size_t) {
    if (c.node.load(std::memory_order_relaxed) < 0)
      c.node.store(node_of(c.addr), std::memory_order_relaxed);
  });
  // Sampled faults since the last epoch are already in the counters; arm the next sample.
  if (sampler_) {
    heat::SourceStats ss;
    if (Status s = sampler_->rearm(&ss); !s) return std::move(s).error().context("fault sampler");
    sampled_faults_.fetch_add(ss.events, std::memory_order_relaxed);
  }
  if (daemon_connected()) {
    // tierd plans for every process at once; planning here too would fight it.
    EpochReport idle;
    idle.epoch = epoch_;
    return idle;
  }
  epoch::TableMoverSink sink(table_.get(), mover_.get());
  Result<EpochReport> r = runner_->run(++epoch_, node_states(), *source_, nullptr, sink);
  if (!r) return r;
  epochs_.fetch_add(1, std::memory_order_relaxed);
  promotions_.fetch_add(r->promotions, std::memory_order_relaxed);
  demotions_.fetch_add(r->demotions, std::memory_order_relaxed);
  bytes_moved_.fetch_add(r->mover.bytes_moved, std::memory_order_relaxed);
  pages_failed_.fetch_add(r->mover.pages_failed, std::memory_order_relaxed);
  refused_.fetch_add(r->moves_refused, std::memory_order_relaxed);
  last_ns_.store(r->epoch_ns, std::memory_order_relaxed);
  max_ns_.store(std::max(max_ns_.load(std::memory_order_relaxed), r->epoch_ns),
                std::memory_order_relaxed);
  total_ns_.fetch_add(r->epoch_ns, std::memory_order_relaxed);
  modelled_s_.store(modelled_s_.load(std::memory_order_relaxed) + r->mover.modelled_s,
                    std::memory_order_relaxed);
  return r;
}

policy::Plan Agent::last_plan() {
  std::lock_guard lock(epoch_mu_);
  return runner_->last_plan();
}

Status Agent::start(const AgentConfig &config) {
  std::lock_guard tl(thread_mu_);
  if (thread_.joinable()) return make_error(TIER_EBUSY, "tier_agent_start: the agent already runs");
  {
    std::lock_guard lock(epoch_mu_);
    Result<std::unique_ptr<migrate::Mover>> m = make_mover(rt_, config);
    if (!m) return std::move(m).error();
    mover_ = std::move(*m);
    // Temperatures live in the chunk table, so a new runner keeps every chunk's heat; the
    // policy's scalar memory starts afresh.
    runner_ = std::make_unique<epoch::Runner>(runner_config(config), runner_->policy());
    config_ = config;
  }
  stop_ = false;
  try {
    thread_ = std::thread([this] { loop(); });
  } catch (const std::system_error &e) {
    return make_error(TIER_ENOMEM, std::string("tier_agent_start: thread: ") + e.what());
  }
  running_.store(true, std::memory_order_relaxed);
  return {};
}

void Agent::stop() {
  std::unique_lock tl(thread_mu_);
  if (!thread_.joinable()) return;
  stop_ = true;
  cv_.notify_all();
  std::thread t = std::move(thread_);
  tl.unlock();
  t.join();
  running_.store(false, std::memory_order_relaxed);
}

void Agent::loop() {
  std::unique_lock tl(thread_mu_);
  while (!stop_) {
    const auto period = std::chrono::milliseconds(config_.period_ms);
    if (cv_.wait_for(tl, period, [this] { return stop_; })) break;
    tl.unlock();
    // An epoch error (a snapshot the policy rejects) is reported through the statistics'
    // absence of progress, and the next epoch tries again; a thread cannot return it.
    (void)epoch();
    tl.lock();
  }
}

void Agent::fill_stats(tier_agent_stats *out) {
  tier_agent_stats s;
  std::memset(&s, 0, sizeof s);
  s.size = sizeof s;
  s.running = running_.load(std::memory_order_relaxed) ? 1 : 0;
  s.epochs = epochs_.load(std::memory_order_relaxed);
  s.promotions = promotions_.load(std::memory_order_relaxed);
  s.demotions = demotions_.load(std::memory_order_relaxed);
  s.bytes_moved = bytes_moved_.load(std::memory_order_relaxed);
  s.pages_failed = pages_failed_.load(std::memory_order_relaxed);
  s.moves_refused = refused_.load(std::memory_order_relaxed);
  s.last_epoch_ns = last_ns_.load(std::memory_order_relaxed);
  s.max_epoch_ns = max_ns_.load(std::memory_order_relaxed);
  s.total_epoch_ns = total_ns_.load(std::memory_order_relaxed);
  s.regions = table_->region_count();
  s.chunks = table_->chunk_count();
  s.modelled_migration_s = modelled_s_.load(std::memory_order_relaxed);
  s.sampled_faults = sampled_faults_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(epoch_mu_);
    std::snprintf(s.policy, sizeof s.policy, "%s", runner_->policy().name());
    std::snprintf(s.mover, sizeof s.mover, "%s", mover_->name());
  }
  // The caller's struct may be older (smaller) than ours: copy what it has room for.
  const size_t n = std::min(out->size, sizeof s);
  std::memcpy(reinterpret_cast<char *>(out) + sizeof(size_t),
              reinterpret_cast<const char *>(&s) + sizeof(size_t), n - sizeof(size_t));
}

// ---- The side table: runtime -> agent ----------------------------------------------------

namespace {

constexpr int kMaxRuntimes = 64;
struct Entry {
  std::atomic<tier_runtime *> rt{nullptr};
  std::atomic<uint32_t> generation{0};
  std::atomic<Agent *> agent{nullptr};
};
Entry g_agents[kMaxRuntimes];
std::mutex g_agents_mu;

// A forked child frees memory (tier_free -> before_free -> forget_range takes the epoch lock),
// so no agent's epoch lock may be left held by a thread that does not exist in the child. The
// epoch lock is taken before any allocator lock (an epoch allocates and moves memory under it),
// and after locks of libtier's callers (the preload shim registers regions under its own
// mutex), so its prepare runs after theirs and before the allocator's: the allocator calls it
// through its upper hooks (alloc/upper_hooks.hpp), registered right after its own handlers.
void fork_prepare() {
  g_agents_mu.lock();
  for (Entry &e : g_agents)
    if (Agent *a = e.agent.load(std::memory_order_relaxed)) a->lock_for_fork();
}
void fork_release() {
  for (Entry &e : g_agents)
    if (Agent *a = e.agent.load(std::memory_order_relaxed)) a->unlock_after_fork();
  g_agents_mu.unlock();
}

}  // namespace

// The calling thread's last hit: tier_touch looks its agent up on every call, and scanning the
// table with acquire loads cost more than the touch itself. An agent lives as long as its
// runtime, and a generation is unique per runtime in the process, so a hit on (rt, its
// generation) is the live runtime's agent; using a destroyed runtime is the caller's error,
// as without the cache.
thread_local constinit AgentHit t_agent_hit{nullptr, 0, nullptr};

Agent *agent_of(tier_runtime *rt, bool create) {
  if (!rt) return nullptr;
  AgentHit &hit = t_agent_hit;
  if (hit.rt == rt && hit.generation == rt->generation) return hit.agent;
  for (Entry &e : g_agents)
    if (e.rt.load(std::memory_order_acquire) == rt &&
        e.generation.load(std::memory_order_relaxed) == rt->generation) {
      Agent *a = e.agent.load(std::memory_order_acquire);
      if (a) hit = AgentHit{rt, rt->generation, a};
      return a;
    }
  if (!create) return nullptr;
  std::lock_guard lock(g_agents_mu);
  Entry *free_entry = nullptr;
  for (Entry &e : g_agents) {
    tier_runtime *r = e.rt.load(std::memory_order_relaxed);
    if (r == rt && e.generation.load(std::memory_order_relaxed) == rt->generation)
      return e.agent.load(std::memory_order_relaxed);
    // A runtime destroyed without on_runtime_destroy leaves a stale entry; a new runtime at the
    // same address has another generation, and the stale agent is abandoned (not freed: its
    // thread, if any, may still run).
    if (r == rt || (!r && !free_entry)) free_entry = &e;
  }
  if (!free_entry) {
    set_last_error(TIER_ENOMEM, "heat: more than 64 runtimes with heat tracking");
    return nullptr;
  }
  // From the first agent on, the allocator tells the agents about frees, runtime teardown and
  // fork; before it there is nothing to tell.
  static const alloc::UpperHooks hooks{before_free, on_runtime_destroy, fork_prepare, fork_release};
  alloc::install_upper_hooks(&hooks);
  Result<std::unique_ptr<Agent>> a = Agent::create(rt);
  if (!a) {
    set_last_error(a.error());
    return nullptr;
  }
  free_entry->agent.store(a->release(), std::memory_order_release);
  free_entry->generation.store(rt->generation, std::memory_order_relaxed);
  free_entry->rt.store(rt, std::memory_order_release);
  return free_entry->agent.load(std::memory_order_relaxed);
}

void before_free(tier_runtime *rt, const void *ptr, size_t len) {
  if (Agent *a = agent_of(rt, false)) a->forget_range(ptr, len);
}

void on_runtime_destroy(tier_runtime *rt) {
  // The runtime's teardown that follows may free memory through before_free() on this thread:
  // it must find no agent, not the cached one about to be deleted.
  if (t_agent_hit.rt == rt) t_agent_hit = AgentHit{nullptr, 0, nullptr};
  std::lock_guard lock(g_agents_mu);
  for (Entry &e : g_agents)
    if (e.rt.load(std::memory_order_relaxed) == rt) {
      Agent *a = e.agent.exchange(nullptr, std::memory_order_acq_rel);
      e.rt.store(nullptr, std::memory_order_release);
      delete a;
    }
}

}  // namespace tier::client
