// pool_service.cpp - tierd's CXL pool, once per epoch (see pool_service.hpp).
#include "pool_service.hpp"

#include <unistd.h>

#include "coord/embedded_store.hpp"
#include "pool/file_device.hpp"

namespace tier::daemon {

Result<std::unique_ptr<PoolService>> PoolService::create(const DaemonOptions &options,
                                                         Placement *placement,
                                                         Placement::LogFn log) {
  std::unique_ptr<PoolService> s(new PoolService());
  s->options_ = options;
  s->placement_ = placement;
  s->log_ = std::move(log);
  for (const Node &n : placement->topology().nodes)
    if (n.kind == TIER_KIND_CXL_POOL) {
      s->node_ = n.id;
      break;
    }
  if (s->node_ < 0)
    return make_error(TIER_ECONFIG,
                      "pool.backend = \"" + options.pool_backend +
                          "\" needs a cxl-pool node in "
                          "the topology (" +
                          placement->topology().source +
                          " has none; the default and cxl-switched-pool presets have one)");
  if (options.pool_backend != "file")
    return make_error(TIER_ECONFIG,
                      "pool.backend: unknown backend \"" + options.pool_backend + "\"");
  Result<std::unique_ptr<pool::FileDevice>> dev =
      pool::FileDevice::open_or_create(options.pool_path, options.pool_size);
  if (!dev) return std::move(dev).error().context("pool");
  s->dev_ = std::move(*dev);
  if (options.pool_coordination != "embedded")
    return make_error(TIER_ECONFIG, "pool.coordination: only \"embedded\" is supported, got \"" +
                                        options.pool_coordination + "\"");
  s->store_ = std::make_unique<coord::EmbeddedStore>();

  const uint32_t host = options.pool_host_id;
  s->member_ = std::make_unique<pool::PoolMember>(s->store_.get(), s->keys_, host,
                                                  std::chrono::seconds(options.pool_lease_ttl_s));
  PoolService *self = s.get();
  pool::HostTier tier;
  tier.used = [self] {
    for (const NodeUsage &u : self->placement_->node_usage(*self->clients_))
      if (u.id == self->node_) return u.used;
    return uint64_t{0};
  };
  tier.set_capacity = [self](uint64_t b) {
    (void)self->placement_->set_node_capacity(self->node_, b);
  };
  tier.evacuate = [self](uint64_t b) {
    return self->placement_->evacuate(*self->clients_, self->node_, b);
  };
  s->host_ = std::make_unique<pool::PoolHost>(
      s->dev_.get(), host, std::chrono::milliseconds(options.pool_giveback_timeout_ms), tier);
  if (Status st = s->host_->start(); !st) return std::move(st).error().context("pool");
  if (Status st = s->member_->join(s->host_->generation(), ::getpid()); !st)
    return std::move(st).error();

  pool::ManagerOptions mo;
  mo.host = host;
  mo.keys = s->keys_;
  mo.extent_bytes = options.pool_extent_size;
  s->mgr_ = std::make_unique<pool::PoolManager>(s->store_.get(), s->dev_.get(), mo);
  Result<bool> role = s->mgr_->acquire(s->member_->lease());
  if (!role) return std::move(role).error().context("pool manager role");
  s->manager_ = *role;
  s->log_("info", "pool: " + s->dev_->describe() + ", host " + std::to_string(host) +
                      " (generation " + std::to_string(s->host_->generation()) + "), store " +
                      s->store_->describe() + (s->manager_ ? ", manager" : "") + "; node " +
                      std::to_string(s->node_) + " is the pool tier");
  return s;
}

PoolService::~PoolService() {
  if (member_) (void)member_->leave();
}

void PoolService::note(const Status &st) {
  if (st) return;
  ++counters_.errors;
  if (st.error().message != last_error_) log_("warn", "pool: " + st.error().message);
  last_error_ = st.error().message;
}

uint64_t PoolService::compute_demand(const std::vector<ClientState *> &clients) const {
  const std::vector<NodeUsage> usage = placement_->node_usage(clients);
  const std::vector<Node> &nodes = placement_->topology().nodes;
  uint64_t on_pool = 0, pressure = 0;
  for (size_t i = 0; i < nodes.size() && i < usage.size(); ++i) {
    if (nodes[i].id == node_) {
      on_pool = usage[i].used;
      continue;
    }
    const auto keep_free =
        static_cast<uint64_t>(static_cast<double>(nodes[i].capacity) * options_.high_watermark);
    const uint64_t fill = nodes[i].capacity > keep_free ? nodes[i].capacity - keep_free : 0;
    if (usage[i].used > fill) pressure += usage[i].used - fill;
  }
  return on_pool + pressure + options_.pool_extent_size;
}

void PoolService::step(const std::vector<ClientState *> &clients) {
  clients_ = &clients;
  const auto now = std::chrono::steady_clock::now();
  if (member_->lost() || host_->fenced()) {
    // Fenced: take the new generation and join again with nothing.
    Status st = host_->rejoin();
    if (st) st = member_->join(host_->generation(), ::getpid());
    if (st)
      log_("info", "pool: rejoined as host " + std::to_string(member_->host()) + " at generation " +
                       std::to_string(host_->generation()));
    note(st);
    if (!st) return;
  }
  note(member_->renew());
  demand_ = compute_demand(clients);
  note(member_->publish_demand(demand_));
  Result<bool> role = mgr_->acquire(member_->lease());
  if (role) manager_ = *role;
  note(role.ok() ? Status{} : Status(role.error()));
  if (manager_) {
    Result<pool::ManagerStep> ms = mgr_->step(now);
    if (ms) {
      manager_ = ms->manager;
      for (const pool::Extent &e : ms->granted) counters_.granted_bytes += e.length;
      counters_.fenced_hosts += ms->fenced.size();
      counters_.reclaimed_bytes += ms->reclaimed_bytes;
      for (uint32_t h : ms->fenced)
        log_("warn", "pool: host " + std::to_string(h) +
                         " lost its lease: fenced, its extents returned to the pool");
      for (const std::string &d : ms->declines) log_("info", "pool: give-back declined: " + d);
    }
    note(ms.ok() ? Status{} : Status(ms.error()));
  }
  Result<pool::HostStep> hs = host_->step(now);
  if (hs) {
    for (const pool::Extent &e : hs->declined)
      note(member_->report_decline(e.tag, host_->last_decline()));
    counters_.gave_back = host_->gave_back_total();
    counters_.declined = host_->declined_total();
  }
  note(hs.ok() ? Status{} : Status(hs.error()));
  clients_ = nullptr;
}

}  // namespace tier::daemon
