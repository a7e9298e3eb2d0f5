// source.cpp - the heat source registry, the HeatSource handle and the built-in API source.
//
// Thread-safety: the registry is guarded by a mutex; registered tables are immutable.
#include "heat/source.hpp"

#include <cstring>
#include <mutex>

namespace tier::heat {

namespace detail {
std::atomic<ChunkTable *> g_process_table{nullptr};
}

void set_process_table(ChunkTable *table) {
  detail::g_process_table.store(table, std::memory_order_release);
}
ChunkTable *process_table() {
  return detail::g_process_table.load(std::memory_order_acquire);
}

namespace {

// The API source pushes: tier::heat::touch() updates counters as the application reports
// accesses, so there is nothing to drain at the epoch boundary.
Status api_collect(void *, ChunkTable &, uint64_t, SourceStats *) {
  return {};
}

const HeatSourceOps kApiSource = [] {
  HeatSourceOps ops;
  ops.name = "api";
  ops.description = "accesses the application reports (tier_touch, KV and expert APIs)";
  ops.flags = kSourcePush;
  ops.collect = api_collect;
  return ops;
}();

struct Registry {
  std::mutex mutex;
  std::vector<const HeatSourceOps *> sources{&kApiSource};
};
Registry &registry() {
  static Registry r;
  return r;
}

}  // namespace

Status register_heat_source(const HeatSourceOps *ops) {
  if (!ops || ops->version != kHeatSourceOpsVersion)
    return make_error(TIER_EINVAL, "heat source: ops version " +
                                       std::to_string(ops ? ops->version : 0) + ", expected " +
                                       std::to_string(kHeatSourceOpsVersion));
  if (!ops->name || !*ops->name || !ops->collect)
    return make_error(TIER_EINVAL, "heat source: a name and a collect() are required");
  Registry &r = registry();
  std::lock_guard lock(r.mutex);
  for (const HeatSourceOps *s : r.sources)
    if (std::strcmp(s->name, ops->name) == 0)
      return make_error(TIER_EBUSY,
                        std::string("heat source: '") + ops->name + "' is already registered");
  r.sources.push_back(ops);
  return {};
}

const HeatSourceOps *find_heat_source(const std::string &name) {
  Registry &r = registry();
  std::lock_guard lock(r.mutex);
  for (const HeatSourceOps *s : r.sources)
    if (name == s->name) return s;
  return nullptr;
}

std::vector<std::string> heat_source_names() {
  Registry &r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const HeatSourceOps *s : r.sources) names.emplace_back(s->name);
  return names;
}

Result<HeatSource> HeatSource::make(const std::string &name, ChunkTable &table) {
  const HeatSourceOps *ops = find_heat_source(name);
  if (!ops) return make_error(TIER_EINVAL, "heat source '" + name + "' is not registered");
  void *state = nullptr;
  if (ops->create) {
    auto s = ops->create(table);
    if (!s) return std::move(s).error().context("creating heat source '" + name + "'");
    state = *s;
  }
  if (ops->start) {
    Status st = ops->start(state, table);
    if (!st) {
      if (ops->destroy) ops->destroy(state);
      return std::move(st).error().context("starting heat source '" + name + "'");
    }
  }
  return HeatSource(ops, &table, state);
}

HeatSource::HeatSource(HeatSource &&o) noexcept : ops_(o.ops_), table_(o.table_), state_(o.state_) {
  o.ops_ = nullptr;
}

HeatSource &HeatSource::operator=(HeatSource &&o) noexcept {
  if (this != &o) {
    reset();
    ops_ = o.ops_, table_ = o.table_, state_ = o.state_;
    o.ops_ = nullptr;
  }
  return *this;
}

HeatSource::~HeatSource() {
  reset();
}

void HeatSource::reset() {
  if (!ops_) return;
  if (ops_->stop) ops_->stop(state_);
  if (ops_->destroy) ops_->destroy(state_);
  ops_ = nullptr;
}

Status HeatSource::collect(uint64_t epoch, SourceStats *stats) {
  SourceStats local;
  return ops_->collect(state_, *table_, epoch, stats ? stats : &local);
}

}  // namespace tier::heat
