// placement.cpp - tierd's global epoch (see placement.hpp). Event-loop thread only.
#include "placement.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "emu/cost_model.hpp"
#include "heat/temperature.hpp"
#include "epoch/runner.hpp"
#include "migrate/rate_limit.hpp"
#include "prim/os.hpp"

namespace tier::daemon {

namespace dp = tier::daemon_proto;

Placement::Placement(const DaemonOptions &options, Topology topology, LogFn log)
    : options_(options), topology_(std::move(topology)), log_(std::move(log)) {
  for (const Node &n : topology_.nodes) node_ids_.push_back(n.id);
}

Result<std::unique_ptr<Placement>> Placement::create(const DaemonOptions &options,
                                                     Topology topology, LogFn log) {
  if (topology.nodes.empty() || topology.nodes.size() > static_cast<size_t>(dp::kMaxNodes))
    return make_error(TIER_ETOPOLOGY, "tierd handles 1.." + std::to_string(dp::kMaxNodes) +
                                          " nodes; the topology has " +
                                          std::to_string(topology.nodes.size()));
  if (!(options.half_life_epochs > 0))
    return make_error(TIER_ECONFIG, "half_life_epochs must be > 0");
  std::unique_ptr<Placement> p(new Placement(options, std::move(topology), std::move(log)));
  Result<policy::Policy> policy = policy::make_policy(options.policy);
  if (!policy) return std::move(policy).error();
  p->runner_ = std::make_unique<epoch::Runner>(p->runner_config(), *policy);
  return p;
}

const char *move_reason_name(MoveReason reason) {
  switch (reason) {
    case MoveReason::kPromote:
      return "promote";
    case MoveReason::kDemote:
      return "demote";
    case MoveReason::kRebalance:
      return "rebalance";
    case MoveReason::kManual:
      return "manual";
  }
  return "unknown";
}

MoveReason Placement::reason_of(int32_t from, int32_t to, bool manual) const {
  if (manual) return MoveReason::kManual;
  const int a = tier_of(from), b = tier_of(to);
  return b < a ? MoveReason::kPromote : b > a ? MoveReason::kDemote : MoveReason::kRebalance;
}

int Placement::tier_of(int32_t node) const {
  const Node *n = topology_.find(node);
  return n ? n->tier : -1;
}

epoch::RunnerConfig Placement::runner_config() const {
  epoch::RunnerConfig rc;
  rc.temperature.half_life_epochs = options_.half_life_epochs;
  rc.budget_bytes = options_.budget_bytes_per_epoch;
  // The snapshot is valid by construction: ids are positions, every node is one of ours, and
  // each client's groups were checked contiguous (check_entries) and renumbered apart. So the
  // policy's own O(n log n) validation is skipped.
  rc.validate = false;
  return rc;
}

Status Placement::set_policy(const std::string &name) {
  Result<policy::Policy> p = policy::make_policy(name);
  if (!p) return std::move(p).error();
  runner_->set_policy(*p);
  return {};
}

void Placement::set_tuning(const DaemonOptions &o) {
  const double half_life = options_.half_life_epochs;
  options_.budget_bytes_per_epoch = o.budget_bytes_per_epoch;
  options_.rate_bytes_per_second = o.rate_bytes_per_second;
  options_.half_life_epochs = o.half_life_epochs > 0 ? o.half_life_epochs : 4.0;
  options_.default_quota_bytes = o.default_quota_bytes;
  options_.low_watermark = o.low_watermark;
  options_.high_watermark = o.high_watermark;
  runner_->set_budget(options_.budget_bytes_per_epoch);
  // A new half-life is a new heat clock (the chunks keep their heat); the policy stays.
  if (options_.half_life_epochs != half_life) {
    policy::Policy p = runner_->policy();
    runner_ = std::make_unique<epoch::Runner>(runner_config(), p);
  }
}

void Placement::collect_results(ClientState *c) {
  if (!c->requests_outstanding) return;
  auto *h = static_cast<dp::ShmHeader *>(c->shm);
  if (h->request_done.load(std::memory_order_acquire) != c->request_gen) return;
  // The results are the client's word (a migrate::Outcome each); only what they count as
  // moved or failed depends on them, never tierd's own state.
  const dp::ShmRequest *reqs = dp::shm_requests(c->shm);
  for (size_t i = 0; i < c->batch.size() && i < c->requests_outstanding; ++i) {
    int32_t result;
    std::memcpy(&result, &reqs[i].result, sizeof result);
    const auto [bytes, reason] = c->batch[i];
    if (result == static_cast<int32_t>(migrate::Outcome::kMoved) ||
        result == static_cast<int32_t>(migrate::Outcome::kPartial))
      moved_bytes[reason] += bytes;
    else if (result != static_cast<int32_t>(migrate::Outcome::kInPlace))
      failed_bytes[reason] += bytes;
  }
  c->batch.clear();
  c->requests_outstanding = 0;
}

uint64_t Placement::dispatch(ClientState *c, const std::vector<PlannedMove> &moves, uint64_t *bytes,
                             bool manual, std::vector<bool> *landed) {
  if (landed) landed->assign(moves.size(), false);
  const auto epoch32 = static_cast<uint32_t>(epoch_);
  if (c->emulated) {
    // The client's memory and emulated node accounting are in its address space: hand it the
    // batch; it applies at its next sync.
    if (c->requests_outstanding) return 0;
    auto *h = static_cast<dp::ShmHeader *>(c->shm);
    dp::ShmRequest *reqs = dp::shm_requests(c->shm);
    const size_t n = std::min<size_t>(moves.size(), c->max_requests);
    c->batch.clear();
    for (size_t i = 0; i < n; ++i) {
      DaemonChunk &d = c->chunks[moves[i].chunk];
      dp::ShmRequest r{};
      r.addr = d.addr;
      r.bytes = d.bytes;
      r.from = d.node;
      r.to = moves[i].to;
      r.result = dp::kRequestPending;
      std::memcpy(&reqs[i], &r, sizeof r);
      c->batch.emplace_back(d.bytes, static_cast<uint8_t>(reason_of(d.node, r.to, manual)));
      d.last_move_epoch = epoch32;
      *bytes += d.bytes;
      if (landed) (*landed)[i] = true;
    }
    if (n == 0) return 0;
    h->request_count.store(static_cast<uint32_t>(n), std::memory_order_relaxed);
    c->request_gen = h->request_gen.load(std::memory_order_relaxed) + 1;
    h->request_gen.store(c->request_gen, std::memory_order_release);
    c->requests_outstanding = static_cast<uint32_t>(n);
    return n;
  }
  if (!c->mover) {
    migrate::NumaMoverOptions no;
    no.pid = c->pid;
    no.rate.bytes_per_second = options_.rate_bytes_per_second;
    Result<migrate::Mover> m = migrate::Mover::numa(no);
    if (!m) {
      log_("error", "client " + std::to_string(c->pid) + ": " + m.error().message);
      return 0;
    }
    c->mover = std::make_unique<migrate::Mover>(std::move(*m));
  }
  std::vector<migrate::MoveRange> ranges;
  for (const PlannedMove &pm : moves) {
    const DaemonChunk &d = c->chunks[pm.chunk];
    migrate::MoveRange r = migrate::page_cover(d.addr, d.bytes, prim::kPageSize);
    r.from = d.node;
    r.to = pm.to;
    r.chunk = pm.chunk;
    ranges.push_back(r);
  }
  std::vector<migrate::RangeOutcome> outcomes;
  migrate::MoveStats stats;
  if (Status s = c->mover->move(ranges, &outcomes, &stats); !s) {
    log_("warn", "client " + std::to_string(c->pid) + ": moves failed: " + s.error().message);
    return 0;
  }
  uint64_t done = 0;
  for (size_t i = 0; i < moves.size(); ++i) {
    const migrate::Outcome o = outcomes[i].outcome;
    const auto reason = static_cast<size_t>(reason_of(ranges[i].from, ranges[i].to, manual));
    moved_bytes[reason] += outcomes[i].bytes_moved;
    failed_bytes[reason] += o == migrate::Outcome::kFailed || o == migrate::Outcome::kRefused
                                ? ranges[i].bytes
                                : uint64_t{outcomes[i].pages_failed} * prim::kPageSize;
    if (!migrate::landed(o)) continue;
    DaemonChunk &d = c->chunks[moves[i].chunk];
    d.node = moves[i].to;
    d.last_move_epoch = epoch32;
    if (landed) (*landed)[i] = true;
    ++done;
  }
  *bytes += stats.bytes_moved;
  return done;
}

void Placement::refresh_nodes(ClientState *c) {
  // Real NUMA: the kernel is the truth about where a client's pages are (tierd's own moves,
  // the kernel's NUMA balancing, the client's mbind). One query per client and epoch: the
  // node of each chunk's first page, on the client's pid.
  if (c->chunks.empty()) return;
  std::vector<void *> pages(c->chunks.size());
  std::vector<int> status(c->chunks.size(), -1);
  for (size_t i = 0; i < c->chunks.size(); ++i)
    pages[i] = reinterpret_cast<void *>(c->chunks[i].addr & ~(prim::kPageSize - 1));
  long not_moved = 0;
  if (prim::ops().move_pages(c->pid, pages.size(), pages.data(), nullptr, status.data(), 0,
                             &not_moved) != 0)
    return;  // the client is exiting (ESRCH) or not ours to query: keep what it published
  for (size_t i = 0; i < c->chunks.size(); ++i)
    c->chunks[i].node = status[i] >= 0 && topology_.find(status[i]) ? status[i] : -1;
}

// ---- The epoch's adapters ----------------------------------------------------------------

// The clients' validated tables as the chunk source: heat by the engine's rule, temperatures
// weighted by the client's priority (2^(p/100)), groups renumbered per client so they stay
// distinct, chunk ids = positions in refs_.
class Placement::Source final : public epoch::ChunkSource {
 public:
  Source(Placement *p, const std::vector<ClientState *> &clients) : p_(p), clients_(clients) {}

  Status collect(heat::HeatClock &clock, policy::Snapshot *snap, epoch::Report *rep) override {
    std::vector<Ref> &refs = p_->refs_;
    refs.clear();
    uint32_t next_group = 1;
    size_t expected = 0;
    for (const ClientState *c : clients_) expected += c->chunks.size() + 64;
    refs.reserve(expected);
    snap->chunks.reserve(expected);
    for (ClientState *c : clients_) {
      p_->collect_results(c);
      std::string why;
      if (read_table(c, clock.epoch(), clock, p_->node_ids_, &why) == TableRead::kRefused) {
        ++c->refusals;
        ++p_->refusals_total;
        ++p_->table_refusals;
        if (why != c->last_refusal)
          p_->log_("warn", "client " + std::to_string(c->pid) + " (" + c->comm +
                               "): table refused: " + why);
        c->last_refusal = why;
      }
      if (!c->emulated) p_->refresh_nodes(c);
      const double weight = std::exp2(std::clamp(c->priority, -1000, 1000) / 100.0);
      std::unordered_map<uint32_t, uint32_t> groups;
      for (size_t i = 0; i < c->chunks.size(); ++i) {
        const DaemonChunk &d = c->chunks[i];
        ++rep->chunks;
        rep->accesses += d.accesses;
        rep->active_chunks += d.accesses ? 1 : 0;
        if (d.node < 0) continue;  // not faulted in yet: nothing to reason about or move
        policy::ChunkInfo ci;
        ci.id = refs.size();
        ci.bytes = d.bytes;
        ci.node = d.node;
        if (d.group) {
          auto [it, fresh] = groups.try_emplace(d.group, next_group);
          if (fresh) ++next_group;
          ci.group = it->second;
        }
        ci.owner = c->id;
        ci.pinned = d.pinned;
        ci.policy_tag = d.policy_tag;
        ci.temperature = static_cast<float>(d.temperature * weight);
        ci.accesses = d.accesses;
        ci.total_accesses = d.total;
        ci.history = d.history;
        ci.last_access_epoch = d.last_access_epoch;
        ci.last_move_epoch = d.last_move_epoch;
        for (policy::NodeState &n : snap->nodes)
          if (n.id == d.node) {
            n.used += d.bytes;
            break;
          }
        snap->chunks.push_back(ci);
        refs.push_back({c, i});
      }
    }
    p_->chunks_last = snap->chunks.size();
    return {};
  }

  void keep_tags(const std::vector<policy::Plan::Tag> &tags) override {
    for (const policy::Plan::Tag &t : tags)
      if (t.chunk < p_->refs_.size()) {
        const Ref &r = p_->refs_[t.chunk];
        r.client->chunks[r.index].policy_tag = t.tag;
      }
  }

 private:
  Placement *p_;
  const std::vector<ClientState *> &clients_;
};

// Quotas: a client's fast-tier (tier 0) bytes may not grow past its quota. Only promotions
// are dropped (with the rest of their group): dropping a demotion could overfill the node it
// was making room in.
class Placement::QuotaFilter final : public epoch::MoveFilter {
 public:
  explicit QuotaFilter(Placement *p) : p_(p) {}
  void filter(const policy::Snapshot &, std::vector<policy::Move> *moves) override {
    std::unordered_map<ClientState *, int64_t> fast;
    for (const Ref &r : p_->refs_) {
      const DaemonChunk &d = r.client->chunks[r.index];
      if (p_->tier_of(d.node) == 0) fast[r.client] += d.bytes;
    }
    uint32_t dropped_group = 0;
    std::vector<policy::Move> kept;
    kept.reserve(moves->size());
    for (const policy::Move &m : *moves) {
      if (m.chunk >= p_->refs_.size()) continue;
      const Ref &r = p_->refs_[m.chunk];
      const uint64_t quota = r.client->quota_bytes;
      const bool into_fast = p_->tier_of(m.to) == 0 && p_->tier_of(m.from) != 0;
      if (m.group && m.group == dropped_group) continue;
      if (into_fast && quota &&
          fast[r.client] + static_cast<int64_t>(m.bytes) > static_cast<int64_t>(quota)) {
        dropped_group = m.group;
        continue;
      }
      if (into_fast) fast[r.client] += m.bytes;
      if (p_->tier_of(m.from) == 0 && p_->tier_of(m.to) != 0) fast[r.client] -= m.bytes;
      kept.push_back(m);
    }
    *moves = std::move(kept);
  }

 private:
  Placement *p_;
};

// The moves per client: move_pages on its pid (real NUMA) or a request batch in its table
// (emulated).
class Placement::Sink final : public epoch::MoveSink {
 public:
  explicit Sink(Placement *p) : p_(p) {}
  Status apply(const policy::Snapshot &, const std::vector<policy::Move> &moves,
               std::vector<bool> *landed, epoch::Report *) override {
    // Per client, in plan order; `at` maps each client's moves back to the plan's positions.
    std::unordered_map<ClientState *, std::pair<std::vector<PlannedMove>, std::vector<size_t>>>
        per_client;
    std::vector<ClientState *> order;
    for (size_t i = 0; i < moves.size(); ++i) {
      const Ref &r = p_->refs_[moves[i].chunk];
      auto [it, fresh] = per_client.try_emplace(r.client);
      if (fresh) order.push_back(r.client);
      it->second.first.push_back({r.index, moves[i].to});
      it->second.second.push_back(i);
    }
    std::vector<bool> done;
    for (ClientState *c : order) {
      auto &[planned, at] = per_client[c];
      p_->dispatch(c, planned, &p_->epoch_bytes_, /*manual=*/false, &done);
      for (size_t k = 0; k < at.size(); ++k) (*landed)[at[k]] = done[k];
    }
    return {};
  }

 private:
  Placement *p_;
};

EpochSummary Placement::run_epoch(const std::vector<ClientState *> &clients) {
  std::vector<policy::NodeState> nodes;
  for (const Node &n : topology_.nodes) {
    policy::NodeState s = emu::node_state(n);  // figures priced by the cost model
    s.capacity = n.capacity;
    nodes.push_back(s);
  }
  epoch::apply_watermarks(&nodes, options_.low_watermark, options_.high_watermark);
  Source source(this, clients);
  QuotaFilter quotas(this);
  Sink sink(this);
  epoch_bytes_ = 0;
  Result<epoch::Report> r = runner_->run(++epoch_, nodes, source, &quotas, sink);
  EpochSummary sum;
  if (!r) {
    log_("error", r.error().message);
    sum.epoch = epoch_;
  } else {
    sum = std::move(*r);
    // Handed over counts as issued: an emulated client applies its batch at its next sync.
    sum.moves_issued = sum.moves_done;
    sum.bytes_issued = epoch_bytes_;
  }
  ++epochs_run;
  last_epoch_ns = sum.epoch_ns;
  max_epoch_ns = std::max(max_epoch_ns, sum.epoch_ns);
  total_epoch_ns += sum.epoch_ns;
  moves_total += sum.moves_issued;
  bytes_total += sum.bytes_issued;
  // A moving average over about ten epochs, per second of the configured epoch length.
  const double per_s =
      static_cast<double>(sum.moves_issued) * 1000.0 / std::max<uint32_t>(options_.epoch_ms, 1);
  migrations_per_s = epochs_run == 1 ? per_s : migrations_per_s * 0.9 + per_s * 0.1;
  return sum;
}

Result<uint64_t> Placement::migrate(ClientState *c, uint64_t start, uint64_t end, int32_t node) {
  if (start >= end) return make_error(TIER_EINVAL, "empty range");
  if (!topology_.find(node)) return make_error(TIER_EINVAL, "unknown node " + std::to_string(node));
  // The whole range must lie inside the client's registered regions.
  uint64_t at = start;
  for (auto it = c->regions.upper_bound(start); at < end;) {
    if (it == c->regions.begin())
      return make_error(TIER_EINVAL, "range is outside the client's registered regions");
    auto r = std::prev(it);
    const uint64_t rend = r->first + r->second.length;
    if (r->first > at || rend <= at)
      return make_error(TIER_EINVAL, "range is outside the client's registered regions");
    at = rend;
    it = c->regions.upper_bound(at);
  }
  std::vector<PlannedMove> moves;
  for (size_t i = 0; i < c->chunks.size(); ++i) {
    const DaemonChunk &d = c->chunks[i];
    if (d.addr + d.bytes > start && d.addr < end && !d.pinned && d.node != node)
      moves.push_back({i, node});
  }
  uint64_t bytes = 0;
  if (c->emulated && c->requests_outstanding) collect_results(c);
  if (c->emulated && c->requests_outstanding)
    return make_error(TIER_EBUSY, "the client has not applied its previous moves yet");
  const uint64_t n = moves.empty() ? 0 : dispatch(c, moves, &bytes, /*manual=*/true);
  moves_total += n;
  bytes_total += bytes;
  return n;
}

void Placement::fill_client(dp::ClientStatus *out, const ClientState &c) const {
  out->pid = c.pid;
  out->uid = c.uid;
  dp::copy_text(out->comm, c.comm);
  out->regions = static_cast<uint32_t>(c.regions.size());
  out->refusals = static_cast<uint32_t>(std::min<uint64_t>(c.refusals, UINT32_MAX));
  out->chunks = c.chunks.size();
  out->priority = c.priority;
  out->quota_bytes = c.quota_bytes;
  for (const DaemonChunk &d : c.chunks) {
    const int t = tier_of(d.node);
    if (t >= 0 && t < dp::kMaxTiers) out->bytes_per_tier[t] += d.bytes;
  }
}

void Placement::fill_status(dp::StatusReply *out, const std::vector<ClientState *> &clients) const {
  out->epochs = epochs_run;
  out->last_epoch_ns = last_epoch_ns;
  out->max_epoch_ns = max_epoch_ns;
  out->total_epoch_ns = total_epoch_ns;
  out->moves = moves_total;
  out->bytes_moved = bytes_total;
  out->migrations_per_s = migrations_per_s;
  out->refusals = refusals_total;
  out->clients = static_cast<uint32_t>(clients.size());
  out->emulated = topology_.emulated ? 1 : 0;
  out->epoch_ms = options_.epoch_ms;
  out->chunks = chunks_last;
  dp::copy_text(out->policy, runner_->policy().name());
  dp::copy_text(out->topology, topology_.source);
  out->nnodes = static_cast<uint32_t>(topology_.nodes.size());
  const std::vector<NodeUsage> usage = node_usage(clients);
  for (size_t i = 0; i < topology_.nodes.size() && i < size_t{dp::kMaxNodes}; ++i) {
    const Node &n = topology_.nodes[i];
    dp::NodeStatus &s = out->nodes[i];
    s = {};
    s.id = n.id;
    s.tier = n.tier;
    s.capacity = n.capacity;
    dp::copy_text(s.name, n.name);
    dp::copy_text(s.kind, kind_name(n.kind));
    s.used = usage[i].used;
    s.hot = usage[i].hot;
  }
}

std::vector<NodeUsage> Placement::node_usage(const std::vector<ClientState *> &clients) const {
  // Hot bytes are the hot set as MEMTIS sizes it: the hottest bytes that fit the tiers above
  // the slowest, in whole histogram buckets (the bucket that overflows them is left out, so
  // hot never exceeds those tiers' capacity). "Accessed lately" would count nearly everything
  // a busy client has.
  int slowest = 0;
  for (const Node &n : topology_.nodes) slowest = std::max(slowest, n.tier);
  uint64_t fast_capacity = 0;
  for (const Node &n : topology_.nodes)
    if (n.tier < slowest) fast_capacity += n.capacity;
  heat::LogHistogram histogram;
  for (const ClientState *c : clients)
    for (const DaemonChunk &d : c->chunks)
      if (d.node >= 0) histogram.add(d.temperature, d.bytes);
  const double hot_from = histogram.hot_threshold_within(slowest == 0 ? UINT64_MAX : fast_capacity);

  std::vector<NodeUsage> out(topology_.nodes.size());
  std::unordered_map<int32_t, size_t> index;
  for (size_t i = 0; i < topology_.nodes.size(); ++i) {
    out[i].id = topology_.nodes[i].id;
    index.emplace(out[i].id, i);
  }
  for (const ClientState *c : clients)
    for (const DaemonChunk &d : c->chunks) {
      auto it = index.find(d.node);
      if (it == index.end()) continue;  // not faulted in yet
      out[it->second].used += d.bytes;
      if (d.temperature > 0 && d.temperature >= hot_from) out[it->second].hot += d.bytes;
    }
  return out;
}

}  // namespace tier::daemon
