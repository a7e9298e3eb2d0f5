// tier-serve-demo - the README's main job: LLM serving on tiered memory.
//
// Replays the Mooncake conversation trace through Tier's KV-cache block pool (kv.h) together
// with a Mixtral-shaped MoE layer stack whose routing follows Fiddler's popularity data
// (experts.h), on real memory: blocks and expert weights are written and read for real, while
// the in-process agent (or tierd, when it runs: the client layer hands the work over) moves
// them between tiers by heat. Shows a live per-tier view, then a table (or --json): the
// fast-tier hit ratio at touch time, modelled memory time from the cost model, bytes migrated
// and per-tier occupancy. Only the public C API is used. Flags: --help.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "accounting.hpp"
#include "kv_engine.hpp"
#include "moe_stack.hpp"
#include "options.hpp"
#include "popularity.hpp"
#include "report.hpp"
#include "tier/emulation.h"
#include "tier/experts.h"
#include "tier/heat.h"
#include "tier/kv.h"
#include "tier/tier.h"
#include "tier_view.hpp"
#include "trace.hpp"

using namespace serve_demo;

namespace {

int fail(const std::string &what) {
  std::fprintf(stderr, "tier-serve-demo: %s\n", what.c_str());
  return 1;
}

// A popularity file, or every *.json of a directory in name order.
bool load_moe(const std::string &path, std::vector<tier::workloads::Popularity> *out,
              std::string *error) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto &e : fs::directory_iterator(path, ec))
      if (e.path().extension() == ".json") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      *error = path + ": no .json popularity files";
      return false;
    }
  } else {
    files.push_back(path);
  }
  for (const std::string &f : files) {
    auto p = tier::workloads::load_popularity(f);
    if (!p) {
      *error = p.error().message;
      return false;
    }
    p->name = fs::path(f).stem().string();
    out->push_back(std::move(*p));
  }
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  if (int rc = parse_options(argc, argv, &o); rc >= 0) return rc;
  if (!resolve_data(&o)) return 1;

  auto trace = tier::workloads::load_trace(o.trace);
  if (!trace) return fail(trace.error().message);
  std::vector<tier::workloads::Popularity> moe;
  std::string error;
  if (!load_moe(o.moe, &moe, &error)) return fail(error);

  tier_runtime *rt = nullptr;
  tier_runtime_options ro = TIER_RUNTIME_OPTIONS_INIT;
  ro.topology = o.topology.empty() ? nullptr : o.topology.c_str();
  if (tier_runtime_create(&ro, &rt) != TIER_OK)
    return fail(std::string("tier_runtime_create: ") + tier_last_error());
  if (!o.capacities_mib.empty()) {
    if (o.capacities_mib.size() != static_cast<size_t>(tier_node_count(rt)))
      return fail("--capacities: " + std::to_string(o.capacities_mib.size()) + " values for " +
                  std::to_string(tier_node_count(rt)) + " nodes");
    for (int i = 0; i < tier_node_count(rt); ++i) {
      tier_node_info info{};
      info.size = sizeof info;
      if (tier_node_at(rt, i, &info) != TIER_OK ||
          tier_node_set_capacity(rt, info.id, o.capacities_mib[i] << 20) != TIER_OK)
        return fail(std::string("--capacities: ") + tier_last_error());
    }
  }
  if (tier_set_policy(rt, o.policy.c_str()) != TIER_OK)
    return fail(std::string("--policy: ") + tier_last_error());
  tier_cost_model *model = nullptr;
  if (tier_cost_model_create(ro.topology, &model) != TIER_OK)
    return fail(std::string("tier_cost_model_create: ") + tier_last_error());

  Accounting acct;
  int rc = 0;
  {
    // Expert weights first, loaded into the largest tier (as a model is before serving).
    MoeStack stack;
    if (!stack.init(rt, std::move(moe), o, &acct, &error)) return fail("MoE layers: " + error);

    // The KV-cache pool: one 512-token trace block = one pool block of block_mib MiB.
    tier_kv_pool_options po = TIER_KV_POOL_OPTIONS_INIT;
    po.block_bytes = uint64_t{o.block_mib} << 20;
    po.block_tokens = static_cast<uint32_t>(kTokensPerBlock);
    po.max_blocks = o.pool_blocks;
    tier_kv_pool *pool = nullptr;
    if (tier_kv_pool_create(rt, &po, &pool) != TIER_OK)
      return fail(std::string("tier_kv_pool_create: ") + tier_last_error());

    tier_agent_options ao = TIER_AGENT_OPTIONS_INIT;
    ao.period_ms = o.period_ms;
    ao.half_life_epochs = o.half_life;
    if (tier_agent_start(rt, &ao) != TIER_OK)
      return fail(std::string("tier_agent_start: ") + tier_last_error());

    KvEngine engine(pool, *trace, o, &acct);
    LiveView view(o.quiet);
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    uint64_t steps = 0;
    while (!engine.done()) {
      if (o.seconds > 0 && elapsed() >= o.seconds) engine.stop_admitting();  // then drain
      const int64_t tokens = engine.step(&error);
      if (tokens < 0 || !stack.step(static_cast<uint64_t>(tokens), &error)) {
        rc = fail("serving step " + std::to_string(steps) + ": " + error);
        break;
      }
      ++steps;
      if (view.due(elapsed())) {
        tier_agent_stats as{};
        as.size = sizeof as;
        tier_agent_stats_get(rt, &as);
        view.maybe_print(elapsed(), tier_rows(rt, pool, stack.set()), engine.counters(), acct,
                         as.bytes_moved);
      }
    }
    tier_agent_stop(rt);
    view.finish();

    Summary s;
    s.topology = tier_topology_source(rt);
    s.policy = o.policy;
    s.trace = o.trace;
    s.moe = o.moe;
    s.seconds = elapsed();
    s.steps = steps;
    s.kv = engine.counters();
    s.moe_counters = stack.counters();
    s.pool.size = sizeof s.pool;
    tier_kv_pool_stats_get(pool, &s.pool);
    s.agent.size = sizeof s.agent;
    tier_agent_stats_get(rt, &s.agent);
    s.kv_hits = acct.kv();
    s.expert_hits = acct.experts();
    s.all_hits = acct.all();
    s.bytes_read = acct.bytes_read();
    s.bytes_written = acct.bytes_written();
    tier_node_info slowest{};
    slowest.size = sizeof slowest;
    tier_node_at(rt, tier_node_count(rt) - 1, &slowest);
    s.slowest_node = slowest.name;
    if (acct.modelled_seconds(model, &s.modelled_s, slowest.id, &s.all_slowest_s) != TIER_OK)
      rc = fail(std::string("tier_cost_estimate: ") + tier_last_error());
    s.rows = tier_rows(rt, pool, stack.set());
    s.layers = stack.layers();
    s.experts = stack.experts();
    s.expert_bytes = uint64_t{o.expert_mib} << 20;
    if (o.json)
      print_json(s);
    else
      print_table(s);
    if (s.kv.bad_pages + s.moe_counters.bad_pages)
      rc = fail("block or expert bytes did not survive (see bad pages)");
    tier_kv_pool_destroy(pool);
  }
  tier_cost_model_destroy(model);
  tier_runtime_destroy(rt);
  return rc;
}
