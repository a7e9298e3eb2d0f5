// main.cpp - tier-replay: replay a KV-cache trace or MoE popularity files through the placement
// engine against every policy and Belady's optimum (docs/replay.md).
//
//   tier-replay --family SEEDS [--shapes a,b] [--fractions f,f] [--scale X] [--judge]
//   tier-replay INPUT [--capacities N,N,...] [--policies a,b,...] [--json] [--plot out.png]
//               [--bytes-per-token N] [--requests-per-epoch N] [--variant every2|odd|tail50]
//               [--half-life H] [--steps N] [--tokens-per-step N] [--seed N] [--check] [--quiet]
//
// INPUT is a Mooncake-format .jsonl trace, a popularity .json file, a directory of them, or
// gen:SHAPE[:SEED], a workload of the synthetic family (generate.hpp).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "family.hpp"
#include "generate.hpp"
#include "moe.hpp"
#include "report.hpp"
#include "trace.hpp"

using namespace tier::replay;

namespace {

constexpr const char *kUsage =
    "usage: tier-replay INPUT [options]\n"
    "  INPUT                  Mooncake .jsonl trace, MoE popularity .json, a directory of "
    ".json,\n"
    "                         or gen:SHAPE[:SEED] (a synthetic workload; see --family)\n"
    "  --family SEEDS         judge the default policy on every synthetic shape x seed (e.g. "
    "1,2,3)\n"
    "                         against first-touch, lru, lfu, arc, tpp on total modelled time\n"
    "  --shapes a,b,...       with --family: only these shapes (default: all)\n"
    "  --fractions f,f,...    with --family: capacities as fractions of distinct objects\n"
    "                         (default 0.05,0.15,0.35)\n"
    "  --scale X              with --family or gen:: workload size factor (default 1)\n"
    "  --judge                with --family: exit 1 unless the bars are met\n"
    "  --capacities N,N,...   fast-tier capacities in objects (kv: 2000,8000,32000; moe: "
    "64,128,192)\n"
    "  --policies a,b,...     engine policies and 'optimum' (default: "
    "first-touch,lru,lfu,arc,tpp,\n"
    "                         heat,optimum)\n"
    "  --json                 JSON instead of the table\n"
    "  --plot FILE.png        hit ratio against capacity per policy (gnuplot)\n"
    "  --bytes-per-token N    KV bytes per token (default 131072: Llama-3-8B fp16; block = 64 "
    "MiB)\n"
    "  --requests-per-epoch N requests per engine epoch (default 1)\n"
    "  --variant V            every2 (even requests), odd (odd requests), tail50 (second half)\n"
    "  --half-life H          fixed temperature half-life in epochs instead of the adaptive one\n"
    "  --steps N              MoE: decode steps per file (default 2000)\n"
    "  --tokens-per-step N    MoE: tokens per step (default 8)\n"
    "  --seed N               MoE: routing seed (default 42)\n"
    "  --check                validate every snapshot and plan (slow)\n"
    "  --quiet                no progress on stderr\n";

int fail(const std::string &what) {
  std::cerr << "tier-replay: " << what << "\n";
  return 2;
}

bool parse_u64(const std::string &s, uint64_t *out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  std::string input, plot_path, variant;
  std::vector<uint64_t> capacities;
  std::vector<std::string> policies = {"first-touch", "lru", "lfu", "arc", "tpp", "heat", kOptimum};
  bool json = false, quiet = false, judge = false;
  FamilyOptions family;
  bool family_mode = false;
  uint64_t bytes_per_token = kDefaultBytesPerToken, per_epoch = 1;
  MoeOptions moe;
  RunOptions run;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&](std::string *out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    const auto number = [&](uint64_t *out) {
      std::string v;
      return value(&v) && parse_u64(v, out);
    };
    std::string v;
    uint64_t n = 0;
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--family") {
      if (!value(&v)) return fail("--family needs seeds");
      family.seeds.clear();
      for (const std::string &c : split(v)) {
        if (!parse_u64(c, &n)) return fail("--family: bad seed '" + c + "'");
        family.seeds.push_back(n);
      }
      if (family.seeds.empty()) return fail("--family needs seeds");
      family_mode = true;
    } else if (a == "--shapes") {
      if (!value(&v)) return fail("--shapes needs a value");
      family.shapes = split(v);
    } else if (a == "--fractions") {
      if (!value(&v)) return fail("--fractions needs a value");
      family.fractions.clear();
      for (const std::string &c : split(v)) {
        char *end = nullptr;
        const double f = std::strtod(c.c_str(), &end);
        if (!end || *end || !(f > 0) || f > 1) return fail("--fractions: bad fraction '" + c + "'");
        family.fractions.push_back(f);
      }
    } else if (a == "--scale") {
      if (!value(&v)) return fail("--scale needs a value");
      char *end = nullptr;
      family.scale = std::strtod(v.c_str(), &end);
      if (!end || *end || !(family.scale > 0) || family.scale > 100)
        return fail("--scale: expected a number in (0, 100]");
    } else if (a == "--judge") {
      judge = true;
    } else if (a == "--check") {
      run.config.check = true;
    } else if (a == "--capacities") {
      if (!value(&v)) return fail("--capacities needs a value");
      for (const std::string &c : split(v)) {
        if (!parse_u64(c, &n) || n == 0) return fail("--capacities: bad capacity '" + c + "'");
        capacities.push_back(n);
      }
    } else if (a == "--policies") {
      if (!value(&v)) return fail("--policies needs a value");
      policies = split(v);
      for (const std::string &p : policies)
        if (p != kOptimum && !tier::policy::find_policy(p))
          return fail("--policies: unknown policy '" + p + "'");
    } else if (a == "--plot") {
      if (!value(&plot_path)) return fail("--plot needs a file name");
    } else if (a == "--variant") {
      if (!value(&variant) || (variant != "every2" && variant != "odd" && variant != "tail50"))
        return fail("--variant must be every2, odd or tail50");
    } else if (a == "--bytes-per-token") {
      if (!number(&bytes_per_token) || !bytes_per_token)
        return fail("--bytes-per-token: bad value");
    } else if (a == "--requests-per-epoch") {
      if (!number(&per_epoch) || !per_epoch) return fail("--requests-per-epoch: bad value");
    } else if (a == "--half-life") {
      if (!value(&v) || !(std::atof(v.c_str()) > 0)) return fail("--half-life: bad value");
      run.config.temperature = {std::atof(v.c_str()), false};
    } else if (a == "--steps") {
      if (!number(&n) || !n) return fail("--steps: bad value");
      moe.steps = static_cast<uint32_t>(n);
    } else if (a == "--tokens-per-step") {
      if (!number(&n) || !n) return fail("--tokens-per-step: bad value");
      moe.tokens_per_step = static_cast<uint32_t>(n);
    } else if (a == "--seed") {
      if (!number(&moe.seed)) return fail("--seed: bad value");
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option " + a + "\n" + kUsage);
    } else if (input.empty()) {
      input = a;
    } else {
      return fail("more than one input: " + input + ", " + a);
    }
  }
  if (family_mode) {
    auto model = TimeModel::make();
    if (!model) return fail(model.error().message);
    family.config = run.config;
    family.progress = !quiet;
    for (const std::string &p : policies)
      if (p == tier::policy::kDefaultPolicy) family.candidate = p;
    auto verdict = run_family(family, *model, json, std::cout);
    if (!verdict) return fail(verdict.error().message);
    return judge && !verdict->pass() ? 1 : 0;
  }
  if (input.empty()) return fail(std::string("no input\n") + kUsage);

  namespace fs = std::filesystem;
  Workload w;
  const bool is_dir = fs::is_directory(input);
  if (input.rfind("gen:", 0) == 0) {
    auto spec = parse_generated(input.substr(4));
    if (!spec) return fail(spec.error().message);
    spec->scale = family.scale;
    auto g = generate(*spec);
    if (!g) return fail(g.error().message);
    w = std::move(*g);
    if (capacities.empty())
      for (double f : family.fractions)
        capacities.push_back(std::max<uint64_t>(1, static_cast<uint64_t>(f * w.objects)));
  } else if (is_dir || fs::path(input).extension() == ".json") {
    std::vector<std::string> files;
    if (is_dir) {
      for (const auto &e : fs::directory_iterator(input))
        if (e.path().extension() == ".json") files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(input);
    }
    std::vector<Popularity> pops;
    for (const std::string &f : files) {
      auto p = load_popularity(f);
      if (!p) return fail(p.error().message);
      pops.push_back(std::move(*p));
    }
    auto m = moe_workload(pops, moe);
    if (!m) return fail(m.error().message);
    w = std::move(*m);
    if (capacities.empty()) {
      const uint64_t q = std::max<uint64_t>(w.objects / 4, 1);
      capacities = {q, 2 * q, 3 * q};
    }
  } else {
    auto t = load_trace(input);
    if (!t) return fail(t.error().message);
    Trace trace = std::move(*t);
    if (variant == "every2") trace = every_kth(trace, 2, 0);
    if (variant == "odd") trace = every_kth(trace, 2, 1);
    if (variant == "tail50") trace = tail_from(trace, 0.5);
    w = kv_workload(trace, bytes_per_token, static_cast<uint32_t>(per_epoch));
    if (capacities.empty()) capacities = {2000, 8000, 32000};
  }

  auto model = TimeModel::make();
  if (!model) return fail(model.error().message);
  run.capacities = capacities;
  run.policies = policies;
  run.progress = !quiet;
  auto rows = run_all(w, run, *model);
  if (!rows) return fail(rows.error().message);
  if (json)
    print_json(std::cout, w, *rows, *model);
  else
    print_table(std::cout, w, *rows, *model);
  if (!plot_path.empty())
    if (auto st = plot(plot_path, w, *rows); !st) return fail(st.error().message);
  return 0;
}
