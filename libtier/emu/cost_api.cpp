// cost_api.cpp - the C ABI of the cost model (include/tier/emulation.h).
//
// Thin: checks arguments, converts structs, and turns Errors into the thread's last error.
// No exception crosses this boundary (allocation failure is reported as TIER_ENOMEM).
#include <new>
#include <set>
#include <string>

#include "emu/cost_model.hpp"
#include "tier/emulation.h"

struct tier_cost_model {
  tier::emu::CostModel model;
};

namespace {

using tier::make_error;
using tier::set_last_error;

tier_status fail(tier_status status, const std::string &message) {
  return set_last_error(make_error(status, message));
}

bool struct_too_small(size_t given, size_t needed_end) {
  return given < needed_end;
}

void to_c(const tier::emu::NodeParams &p, tier_cost_node *out) {
  out->id = p.id;
  out->kind = p.kind;
  out->read_latency_ns = p.read_latency_ns;
  out->write_latency_ns = p.write_latency_ns;
  out->read_bandwidth_mbps = p.read_bandwidth_mbps;
  out->write_bandwidth_mbps = p.write_bandwidth_mbps;
  out->curve_a = p.curve.a;
  out->curve_k = p.curve.k;
  out->curve_max_utilisation = p.curve.max_utilisation;
}

tier::Result<tier::emu::NodeParams> from_c(const tier_cost_node &n, int index) {
  const std::string where =
      "cost node " + std::to_string(index) + " (id " + std::to_string(n.id) + ")";
  if (n.size < sizeof(tier_cost_node))
    return make_error(TIER_EINVAL, where + ": size field is " + std::to_string(n.size) +
                                       ", expected sizeof(tier_cost_node)");
  const double figs[] = {n.read_latency_ns,      n.write_latency_ns, n.read_bandwidth_mbps,
                         n.write_bandwidth_mbps, n.curve_a,          n.curve_k};
  for (double f : figs)
    if (!(f >= 0)) return make_error(TIER_EINVAL, where + ": figures must be >= 0");
  if (!(n.curve_max_utilisation >= 0 && n.curve_max_utilisation < 1))
    return make_error(TIER_EINVAL,
                      where + ": curve_max_utilisation must be in (0, 1), or 0 for the default");
  tier::Node node;
  node.id = n.id;
  node.kind = n.kind;
  node.read_latency_ns = {n.read_latency_ns, TIER_SOURCE_NONE};
  node.write_latency_ns = {n.write_latency_ns, TIER_SOURCE_NONE};
  node.read_bandwidth_mbps = {n.read_bandwidth_mbps, TIER_SOURCE_NONE};
  node.write_bandwidth_mbps = {n.write_bandwidth_mbps, TIER_SOURCE_NONE};
  tier::emu::NodeParams p = tier::emu::make_node_params(node);
  if (n.curve_a > 0) p.curve.a = n.curve_a;
  if (n.curve_k > 0) p.curve.k = n.curve_k;
  if (n.curve_max_utilisation > 0) p.curve.max_utilisation = n.curve_max_utilisation;
  return p;
}

}  // namespace

extern "C" {

tier_status tier_cost_model_create(const char *spec, tier_cost_model **out) {
  if (!out) return fail(TIER_EINVAL, "tier_cost_model_create: out is NULL");
  *out = nullptr;
  try {
    auto topo = tier::resolve_topology(spec);
    if (!topo) return set_last_error(topo.error());
    *out = new tier_cost_model{tier::emu::make_cost_model(*topo)};
    return TIER_OK;
  } catch (const std::bad_alloc &) {
    return fail(TIER_ENOMEM, "tier_cost_model_create: out of memory");
  }
}

tier_status tier_cost_model_create_nodes(const tier_cost_node *nodes, int nnodes,
                                         tier_cost_model **out) {
  if (!out) return fail(TIER_EINVAL, "tier_cost_model_create_nodes: out is NULL");
  *out = nullptr;
  if (!nodes || nnodes <= 0)
    return fail(TIER_EINVAL, "tier_cost_model_create_nodes: need at least one node");
  try {
    std::vector<tier::emu::NodeParams> params;
    std::set<int> ids;
    for (int i = 0; i < nnodes; ++i) {
      auto p = from_c(nodes[i], i);
      if (!p) return set_last_error(p.error());
      if (!ids.insert(p->id).second)
        return fail(TIER_EINVAL, "tier_cost_model_create_nodes: node id " + std::to_string(p->id) +
                                     " appears twice");
      params.push_back(*p);
    }
    *out = new tier_cost_model{tier::emu::CostModel(std::move(params))};
    return TIER_OK;
  } catch (const std::bad_alloc &) {
    return fail(TIER_ENOMEM, "tier_cost_model_create_nodes: out of memory");
  }
}

void tier_cost_model_destroy(tier_cost_model *model) {
  delete model;
}

int tier_cost_model_node_count(const tier_cost_model *model) {
  return model ? static_cast<int>(model->model.nodes().size()) : 0;
}

tier_status tier_cost_model_node_at(const tier_cost_model *model, int index, tier_cost_node *out) {
  if (!model || !out) return fail(TIER_EINVAL, "tier_cost_model_node_at: NULL argument");
  if (struct_too_small(out->size, sizeof(tier_cost_node)))
    return fail(TIER_EINVAL, "tier_cost_model_node_at: out->size is not sizeof(tier_cost_node)");
  if (index < 0 || index >= tier_cost_model_node_count(model))
    return fail(TIER_ENODEV,
                "tier_cost_model_node_at: index " + std::to_string(index) + " is out of range");
  to_c(model->model.nodes()[static_cast<size_t>(index)], out);
  return TIER_OK;
}

tier_status tier_cost_estimate(const tier_cost_model *model, const tier_cost_access *accesses,
                               size_t naccesses, const tier_cost_options *options,
                               tier_cost_result *out) {
  if (!model || !out || (!accesses && naccesses > 0))
    return fail(TIER_EINVAL, "tier_cost_estimate: NULL argument");
  if (struct_too_small(out->size, sizeof(tier_cost_result)))
    return fail(TIER_EINVAL, "tier_cost_estimate: out->size is not sizeof(tier_cost_result)");
  tier::emu::EstimateOptions opts;
  if (options) {
    if (struct_too_small(options->size, sizeof(tier_cost_options)))
      return fail(TIER_EINVAL,
                  "tier_cost_estimate: options->size is not sizeof(tier_cost_options)");
    opts.interval_s = options->interval_s;
    if (options->mlp != 0) opts.mlp = options->mlp;
    if (options->line_bytes != 0) opts.line_bytes = options->line_bytes;
  }
  try {
    std::vector<tier::emu::Access> in(naccesses);
    for (size_t i = 0; i < naccesses; ++i)
      in[i] = {accesses[i].node, accesses[i].random_reads, accesses[i].random_writes,
               accesses[i].stream_read_bytes, accesses[i].stream_write_bytes};
    auto cost = model->model.estimate(in, opts);
    if (!cost) return set_last_error(cost.error());
    if (cost->nodes.size() > TIER_COST_MAX_NODES)
      return fail(TIER_EINVAL, "tier_cost_estimate: more than TIER_COST_MAX_NODES nodes");
    const size_t size = out->size;
    *out = tier_cost_result{};
    out->size = size;
    out->nnodes = static_cast<int>(cost->nodes.size());
    for (size_t i = 0; i < cost->nodes.size(); ++i) {
      const auto &c = cost->nodes[i];
      out->nodes[i] = {c.node,
                       c.utilisation,
                       c.loaded_read_latency_ns,
                       c.loaded_write_latency_ns,
                       c.latency_s,
                       c.bandwidth_s,
                       c.total_s,
                       c.bytes};
    }
    out->latency_s = cost->latency_s;
    out->bandwidth_s = cost->bandwidth_s;
    out->total_s = cost->total_s;
    return TIER_OK;
  } catch (const std::bad_alloc &) {
    return fail(TIER_ENOMEM, "tier_cost_estimate: out of memory");
  }
}

tier_status tier_cost_migration(const tier_cost_model *model, int src, int dst, uint64_t bytes,
                                uint64_t page_bytes, double *seconds) {
  if (!model || !seconds) return fail(TIER_EINVAL, "tier_cost_migration: NULL argument");
  auto s = model->model.migration_seconds(src, dst, bytes, page_bytes);
  if (!s) return set_last_error(s.error());
  *seconds = *s;
  return TIER_OK;
}

tier_status tier_cost_latency_factor(const tier_cost_model *model, int node, double u,
                                     double *factor) {
  if (!model || !factor) return fail(TIER_EINVAL, "tier_cost_latency_factor: NULL argument");
  const auto *p = model->model.find(node);
  if (!p)
    return fail(TIER_ENODEV,
                "tier_cost_latency_factor: node " + std::to_string(node) + " is not in the model");
  if (!(u >= 0)) return fail(TIER_EINVAL, "tier_cost_latency_factor: utilisation must be >= 0");
  *factor = tier::emu::latency_factor(p->curve, u);
  return TIER_OK;
}

}  // extern "C"
