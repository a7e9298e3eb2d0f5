// runner.cpp - the one placement epoch (see runner.hpp).
#include "epoch/runner.hpp"

#include <string>

#include "migrate/rate_limit.hpp"
#include "policy/simulator.hpp"

namespace tier::epoch {

using migrate::monotonic_ns;

Status validate(const RunnerConfig &config) {
  if (Status s = heat::validate(config.temperature); !s) return s;
  if (!(config.move.copy_bandwidth_mbps >= 0) || !(config.move.per_page_overhead_ns >= 0) ||
      config.move.page_bytes == 0)
    return make_error(TIER_ECONFIG, "epoch: move costs must be >= 0 with a page size > 0");
  return {};
}

void apply_watermarks(std::vector<policy::NodeState> *nodes, double low, double high) {
  for (policy::NodeState &n : *nodes) {
    n.wm_low = static_cast<uint64_t>(static_cast<double>(n.capacity) * low);
    n.wm_high = static_cast<uint64_t>(static_cast<double>(n.capacity) * high);
  }
}

Runner::Runner(const RunnerConfig &config, policy::Policy policy)
    : config_(config), policy_(std::move(policy)), clock_(config.temperature) {}

void Runner::set_policy(policy::Policy policy) {
  policy_ = std::move(policy);
  policy_state_ = 0;
}

Result<Report> Runner::run(uint64_t epoch, const std::vector<policy::NodeState> &nodes,
                           ChunkSource &source, MoveFilter *filter, MoveSink &sink) {
  if (epoch <= clock_.epoch())
    return make_error(TIER_EINVAL, "epoch " + std::to_string(epoch) + " is not after epoch " +
                                       std::to_string(clock_.epoch()));
  const uint64_t start = monotonic_ns();
  Report rep;
  rep.epoch = epoch;
  const std::string where = "epoch " + std::to_string(epoch);

  snap_.epoch = epoch;
  snap_.budget_bytes = config_.budget_bytes ? config_.budget_bytes : UINT64_MAX;
  snap_.move = config_.move;
  snap_.policy_state = policy_state_;
  snap_.nodes = nodes;
  snap_.chunks.clear();
  clock_.begin(epoch);
  Status collected = source.collect(clock_, &snap_, &rep);
  clock_.end();
  if (!collected) return std::move(collected).error().context(where);
  rep.rows = snap_.chunks.size();

  const uint64_t plan_start = monotonic_ns();
  if (config_.validate || config_.check_plans) {
    Result<policy::Plan> p = policy_.plan(snap_);
    if (!p) return std::move(p).error().context(where);
    plan_ = std::move(*p);
    if (config_.check_plans)
      if (Status s = policy::check_plan(snap_, plan_); !s)
        return std::move(s).error().context(std::string(policy_.name()) + " " + where);
  } else {
    plan_ = policy_.plan_unchecked(snap_);
  }
  rep.plan_ns = monotonic_ns() - plan_start;
  rep.moves_planned = plan_.moves.size();
  policy_state_ = plan_.policy_state;
  source.keep_tags(plan_.tags);

  std::vector<policy::Move> moves = plan_.moves;
  if (filter) filter->filter(snap_, &moves);
  rep.moves_filtered = rep.moves_planned - moves.size();
  rep.moves_issued = moves.size();
  for (const policy::Move &m : moves) rep.bytes_issued += m.bytes;

  landed_.assign(moves.size(), false);
  if (Status s = sink.apply(snap_, moves, &landed_, &rep); !s)
    return std::move(s).error().context(where);
  auto tier_of = [&](int32_t id) {
    for (const policy::NodeState &n : snap_.nodes)
      if (n.id == id) return n.tier;
    return -1;
  };
  for (size_t i = 0; i < moves.size(); ++i) {
    if (!landed_[i]) continue;
    ++rep.moves_done;
    if (tier_of(moves[i].to) < tier_of(moves[i].from))
      ++rep.promotions;
    else
      ++rep.demotions;
  }
  rep.epoch_ns = monotonic_ns() - start;
  return rep;
}

}  // namespace tier::epoch
