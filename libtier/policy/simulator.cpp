// simulator.cpp - plan checking and the epoch loop of the simulation harness.
//
// Thread-safety: see simulator.hpp.
#include "policy/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace tier::policy {

namespace {
std::string move_text(size_t i, const Move &m) {
  return "move " + std::to_string(i) + " (chunk " + std::to_string(m.chunk) + ", " +
         std::to_string(m.from) + " -> " + std::to_string(m.to) + ")";
}
}  // namespace

Status check_plan(const Snapshot &s, const Plan &plan) {
  std::unordered_map<uint64_t, size_t> index;
  index.reserve(s.chunks.size());
  for (size_t i = 0; i < s.chunks.size(); ++i) index.emplace(s.chunks[i].id, i);
  std::unordered_map<int32_t, size_t> node_index;
  std::vector<int64_t> used;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    node_index.emplace(s.nodes[i].id, i);
    used.push_back(static_cast<int64_t>(s.nodes[i].used));
  }
  std::vector<int32_t> where(s.chunks.size());
  for (size_t i = 0; i < s.chunks.size(); ++i) where[i] = s.chunks[i].node;
  std::vector<uint8_t> moved(s.chunks.size(), 0);
  uint64_t total = 0;
  for (size_t k = 0; k < plan.moves.size(); ++k) {
    const Move &m = plan.moves[k];
    auto it = index.find(m.chunk);
    if (it == index.end()) return make_error(TIER_EINVAL, move_text(k, m) + ": unknown chunk");
    const ChunkInfo &c = s.chunks[it->second];
    if (moved[it->second]) return make_error(TIER_EINVAL, move_text(k, m) + ": chunk moved twice");
    moved[it->second] = 1;
    if (c.pinned) return make_error(TIER_EINVAL, move_text(k, m) + ": chunk is pinned");
    if (m.from != c.node)
      return make_error(TIER_EINVAL,
                        move_text(k, m) + ": chunk is on node " + std::to_string(c.node));
    auto to = node_index.find(m.to);
    if (to == node_index.end() || m.to == m.from)
      return make_error(TIER_EINVAL, move_text(k, m) + ": bad target node");
    if (m.bytes != c.bytes)
      return make_error(TIER_EINVAL, move_text(k, m) + ": bytes differ from the chunk's");
    if (m.group != c.group)
      return make_error(TIER_EINVAL, move_text(k, m) + ": group differs from the chunk's");
    used[node_index[m.from]] -= static_cast<int64_t>(m.bytes);
    used[to->second] += static_cast<int64_t>(m.bytes);
    if (used[to->second] > static_cast<int64_t>(s.nodes[to->second].capacity))
      return make_error(TIER_EINVAL, move_text(k, m) + ": node " + std::to_string(m.to) +
                                         " would exceed its capacity");
    where[it->second] = m.to;
    total += m.bytes;
  }
  for (const Plan::Tag &t : plan.tags)
    if (!index.count(t.chunk))
      return make_error(TIER_EINVAL, "tag for unknown chunk " + std::to_string(t.chunk));
  if (total != plan.bytes)
    return make_error(TIER_EINVAL, "plan bytes " + std::to_string(plan.bytes) +
                                       " differ from the sum of its moves " +
                                       std::to_string(total));
  if (total > s.budget_bytes)
    return make_error(TIER_EINVAL, "plan moves " + std::to_string(total) +
                                       " bytes, over the budget of " +
                                       std::to_string(s.budget_bytes));
  // Whole groups: within each run of a group, every chunk ends where the moved ones went.
  for (size_t i = 0; i < s.chunks.size();) {
    size_t j = i + 1;
    const uint32_t g = s.chunks[i].group;
    if (g)
      while (j < s.chunks.size() && s.chunks[j].group == g) ++j;
    bool any_moved = false;
    for (size_t k = i; k < j; ++k) any_moved |= moved[k] != 0;
    if (any_moved)
      for (size_t k = i; k < j; ++k)
        if (where[k] != where[i])
          return make_error(TIER_EINVAL, "group " + std::to_string(g) + " was split: chunk " +
                                             std::to_string(s.chunks[k].id) + " is on node " +
                                             std::to_string(where[k]) + ", chunk " +
                                             std::to_string(s.chunks[i].id) + " on " +
                                             std::to_string(where[i]));
    i = j;
  }
  return {};
}

Simulator::Simulator(Snapshot initial, const heat::TemperatureConfig &config)
    : s_(std::move(initial)), clock_(config) {
  fastest_tier_ = INT32_MAX;
  for (const NodeState &n : s_.nodes) fastest_tier_ = std::min(fastest_tier_, n.tier);
}

bool Simulator::on_fastest(const ChunkInfo &chunk) const {
  for (const NodeState &n : s_.nodes)
    if (n.id == chunk.node) return n.tier == fastest_tier_;
  return false;
}

Status Simulator::observe(const std::vector<uint32_t> &accesses) {
  if (accesses.size() != s_.chunks.size())
    return make_error(TIER_EINVAL, "simulator: " + std::to_string(accesses.size()) +
                                       " access counts for " + std::to_string(s_.chunks.size()) +
                                       " chunks");
  std::unordered_map<int32_t, bool> fast;
  for (const NodeState &n : s_.nodes) fast[n.id] = n.tier == fastest_tier_;
  ++s_.epoch;
  ++stats_.epochs;
  clock_.begin(s_.epoch);
  for (size_t i = 0; i < accesses.size(); ++i) {
    ChunkInfo &c = s_.chunks[i];
    const uint32_t a = accesses[i];
    c.accesses = a;
    // The heat rule's fields, under the names ChunkInfo gives them.
    struct {
      float temperature;
      uint64_t total;
      uint32_t history;
      uint64_t last_access_epoch;
    } h{c.temperature, c.total_accesses, c.history, c.last_access_epoch};
    clock_.fold(h, a);
    c.temperature = h.temperature, c.total_accesses = h.total, c.history = h.history;
    c.last_access_epoch = h.last_access_epoch;
    stats_.accesses += a;
    if (fast[c.node]) stats_.fast_hits += a;
  }
  clock_.end();
  return {};
}

Status Simulator::apply(const Plan &plan) {
  if (Status st = check_plan(s_, plan); !st) return st;
  std::unordered_map<uint64_t, size_t> index;
  for (size_t i = 0; i < s_.chunks.size(); ++i) index.emplace(s_.chunks[i].id, i);
  for (const Move &m : plan.moves) {
    ChunkInfo &c = s_.chunks[index[m.chunk]];
    for (NodeState &n : s_.nodes) {
      if (n.id == m.from) n.used -= m.bytes;
      if (n.id == m.to) n.used += m.bytes;
    }
    c.node = m.to;
    c.last_move_epoch = s_.epoch;
  }
  // The policy's memory, as the heat layer carries it for the agent.
  for (const Plan::Tag &t : plan.tags) s_.chunks[index[t.chunk]].policy_tag = t.tag;
  s_.policy_state = plan.policy_state;
  stats_.moves += plan.moves.size();
  stats_.bytes_moved += plan.bytes;
  stats_.promoted += plan.promoted;
  stats_.demoted += plan.demoted;
  return {};
}

Result<Plan> Simulator::step(const Policy &policy) {
  auto plan = policy.plan(s_);
  if (!plan) return plan;
  if (Status st = apply(*plan); !st) return std::move(st).error().context(policy.name());
  return plan;
}

}  // namespace tier::policy
