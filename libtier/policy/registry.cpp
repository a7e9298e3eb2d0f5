// registry.cpp - the policy registry, snapshot validation, make_policy() and plan text.
//
// Thread-safety: the registry is guarded by a mutex; ops tables are immutable.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <sstream>

#include "policy/policy.hpp"

namespace tier::policy {

// Built-in ops tables (one file each).
extern const PolicyOps kFirstTouchPolicy;
extern const PolicyOps kLruPolicy;
extern const PolicyOps kLfuPolicy;
extern const PolicyOps kTppPolicy;
extern const PolicyOps kHeatPolicy;
extern const PolicyOps kArcPolicy;

namespace {
struct Registry {
  std::mutex mutex;
  std::vector<const PolicyOps *> policies{&kHeatPolicy, &kFirstTouchPolicy, &kLruPolicy,
                                          &kLfuPolicy,  &kTppPolicy,        &kArcPolicy};
};
Registry &registry() {
  static Registry r;
  return r;
}

std::string mib(uint64_t bytes) {
  std::ostringstream o;
  o.precision(1);
  o << std::fixed << static_cast<double>(bytes) / 1048576.0 << " MiB";
  return o.str();
}
}  // namespace

const char *reason_name(Reason reason) {
  switch (reason) {
    case Reason::kPromote:
      return "promote";
    case Reason::kDemote:
      return "demote";
    case Reason::kPressure:
      return "pressure";
  }
  return "unknown";
}

std::string describe(const Plan &plan) {
  size_t counts[3] = {0, 0, 0};
  for (const Move &m : plan.moves) ++counts[static_cast<int>(m.reason)];
  std::ostringstream o;
  o << plan.moves.size() << " moves, " << mib(plan.bytes) << ": promote " << counts[0] << " ("
    << mib(plan.promoted) << "), demote " << counts[1] << ", pressure " << counts[2] << " ("
    << mib(plan.demoted) << ")";
  return o.str();
}

Status validate(const PolicyParams &params) {
  if (!(params.promote_margin >= 0) || params.promote_margin > 100)
    return make_error(TIER_ECONFIG, "policy: promote_margin must be in 0 .. 100, got " +
                                        std::to_string(params.promote_margin));
  if (params.tpp_hot_epochs < 1 || params.tpp_hot_epochs > 32)
    return make_error(TIER_ECONFIG, "policy: tpp_hot_epochs must be in 1 .. 32, got " +
                                        std::to_string(params.tpp_hot_epochs));
  return {};
}

Status validate_snapshot(const Snapshot &s) {
  if (s.epoch == 0) return make_error(TIER_EINVAL, "snapshot: epoch must be > 0");
  if (s.nodes.empty()) return make_error(TIER_EINVAL, "snapshot: no nodes");
  std::vector<uint8_t> known(65536, 0);
  for (const NodeState &n : s.nodes) {
    if (n.id < 0 || n.id > 65535)
      return make_error(TIER_EINVAL,
                        "snapshot: node id " + std::to_string(n.id) + " is outside 0 .. 65535");
    if (known[n.id])
      return make_error(TIER_EINVAL, "snapshot: node " + std::to_string(n.id) + " listed twice");
    if (n.tier < 0)
      return make_error(TIER_EINVAL, "snapshot: node " + std::to_string(n.id) + " has tier " +
                                         std::to_string(n.tier));
    known[n.id] = 1;
  }
  if (s.chunks.size() >= UINT32_MAX) return make_error(TIER_EINVAL, "snapshot: too many chunks");
  // Chunk ids unique and groups contiguous: ids strictly ascending (as the chunk table emits
  // them) are unique, which the loop below sees without a copy; otherwise a sorted copy keeps
  // it O(n log n) in the worst case without hashing.
  bool ascending = true;
  uint32_t max_group = 0;
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    const ChunkInfo &c = s.chunks[i];
    if (c.node < 0 || c.node > 65535 || !known[c.node])
      return make_error(TIER_EINVAL, "snapshot: chunk " + std::to_string(c.id) +
                                         " is on unknown node " + std::to_string(c.node));
    if (c.bytes == 0)
      return make_error(TIER_EINVAL, "snapshot: chunk " + std::to_string(c.id) + " has 0 bytes");
    if (c.group && i > 0 && s.chunks[i - 1].group == c.group && s.chunks[i - 1].owner != c.owner)
      return make_error(TIER_EINVAL, "snapshot: group " + std::to_string(c.group) +
                                         " spans owners " + std::to_string(c.owner) + " and " +
                                         std::to_string(s.chunks[i - 1].owner));
    ascending &= i == 0 || s.chunks[i - 1].id < c.id;
    max_group = std::max(max_group, c.group);
  }
  if (!ascending) {
    std::vector<uint64_t> ids;
    ids.reserve(s.chunks.size());
    for (const ChunkInfo &c : s.chunks) ids.push_back(c.id);
    std::sort(ids.begin(), ids.end());
    if (auto d = std::adjacent_find(ids.begin(), ids.end()); d != ids.end())
      return make_error(TIER_EINVAL, "snapshot: chunk id " + std::to_string(*d) + " listed twice");
  }
  // A group seen again after another group started is not adjacent.
  std::vector<uint8_t> seen(static_cast<size_t>(max_group) + 1, 0);
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    const uint32_t g = s.chunks[i].group;
    if (!g || (i > 0 && s.chunks[i - 1].group == g)) continue;
    if (seen[g])
      return make_error(TIER_EINVAL,
                        "snapshot: the chunks of group " + std::to_string(g) + " are not adjacent");
    seen[g] = 1;
  }
  return {};
}

Status register_policy(const PolicyOps *ops) {
  if (!ops || ops->version != kPolicyOpsVersion)
    return make_error(TIER_EINVAL, "policy: ops version " + std::to_string(ops ? ops->version : 0) +
                                       ", expected " + std::to_string(kPolicyOpsVersion));
  if (!ops->name || !*ops->name || !ops->plan)
    return make_error(TIER_EINVAL, "policy: a name and a plan() are required");
  Registry &r = registry();
  std::lock_guard lock(r.mutex);
  for (const PolicyOps *p : r.policies)
    if (std::strcmp(p->name, ops->name) == 0)
      return make_error(TIER_EBUSY, std::string("policy '") + ops->name + "' already exists");
  r.policies.push_back(ops);
  return {};
}

const PolicyOps *find_policy(const std::string &name) {
  Registry &r = registry();
  std::lock_guard lock(r.mutex);
  for (const PolicyOps *p : r.policies)
    if (name == p->name) return p;
  return nullptr;
}

std::vector<std::string> policy_names() {
  Registry &r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const PolicyOps *p : r.policies) names.emplace_back(p->name);
  return names;
}

Result<Policy> make_policy(const std::string &name, const PolicyParams &params) {
  if (Status st = validate(params); !st) return std::move(st).error();
  if (const PolicyOps *ops = find_policy(name)) return Policy(ops, params);
  std::string known;
  for (const std::string &n : policy_names()) known += (known.empty() ? "" : ", ") + n;
  return make_error(TIER_EINVAL, "unknown placement policy '" + name + "' (known: " + known + ")");
}

Result<Plan> Policy::plan(const Snapshot &snapshot) const {
  if (Status st = validate_snapshot(snapshot); !st)
    return std::move(st).error().context(std::string("policy ") + name());
  return plan_unchecked(snapshot);
}

Plan Policy::plan_unchecked(const Snapshot &snapshot) const {
  Plan plan;
  ops_->plan(snapshot, params_, &plan);
  return plan;
}

}  // namespace tier::policy
