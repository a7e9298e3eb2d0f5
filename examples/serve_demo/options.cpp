// options.cpp - flags and the data search (see options.hpp).
#include "options.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <string_view>
#include <vector>

namespace serve_demo {

namespace fs = std::filesystem;

namespace {

void usage(FILE *out) {
  std::fprintf(out,
               "usage: tier-serve-demo [options]\n"
               "Serves the Mooncake conversation trace through Tier's KV-cache block pool and a\n"
               "Mixtral-shaped MoE layer stack whose routing follows the Fiddler popularity data,\n"
               "on real memory placed and moved by Tier (the in-process agent, or tierd).\n\n"
               "  --trace PATH         conversation trace (default ../shared/data/traces/"
               "mooncake_conversation_trace.jsonl)\n"
               "  --moe PATH           popularity file or directory (default ../shared/data/moe/"
               "mixtral_8x7b_instruct)\n"
               "  --seconds S          stop after S seconds of serving (default 30)\n"
               "  --requests N         stop after N requests (default 0 = no bound)\n"
               "  --topology SPEC      runtime topology: preset or file (default: TIER_TOPOLOGY, "
               "else discovery / preset default)\n"
               "  --capacities M,M,.. node capacities in MiB, in tier order (default: the\n"
               "                       topology's; fixes them for comparisons across runs)\n"
               "  --policy NAME        placement policy: heat, lru, lfu, tpp, first-touch "
               "(default heat)\n"
               "  --batch N            running sequences at most (default 8)\n"
               "  --decode-tokens N    tokens decoded per sequence per step (default 64)\n"
               "  --block-mib N        MiB of one 512-token KV block (default 2)\n"
               "  --pool-blocks N      KV pool size in blocks (default 320)\n"
               "  --expert-mib N       MiB of one expert tensor (default 2)\n"
               "  --subject-steps N    steps per popularity file before the next (default 150)\n"
               "  --route-tokens N     tokens drawn per layer per step (default 64)\n"
               "  --period-ms N        agent epoch period (default 50)\n"
               "  --half-life N        agent heat half-life in epochs (default 4)\n"
               "  --seed N             routing draws (default 42)\n"
               "  --no-prefetch        no prefetch hints for the next layer\n"
               "  --json               print the final report as JSON on stdout\n"
               "  --quiet              no live view\n"
               "  --help\n");
}

bool number(std::string_view flag, const char *text, double *out) {
  char *end = nullptr;
  const double v = std::strtod(text, &end);
  if (!*text || *end || !(v >= 0)) {
    std::fprintf(stderr, "tier-serve-demo: %.*s: expected a non-negative number, got \"%s\"\n",
                 static_cast<int>(flag.size()), flag.data(), text);
    return false;
  }
  *out = v;
  return true;
}

template <class T>
bool integer(std::string_view flag, const char *text, T *out, uint64_t min = 0,
             uint64_t max = UINT32_MAX) {
  char *end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (!*text || *end || *text == '-' || v < min || v > max) {
    std::fprintf(stderr, "tier-serve-demo: %.*s: expected an integer in %llu..%llu, got \"%s\"\n",
                 static_cast<int>(flag.size()), flag.data(), static_cast<unsigned long long>(min),
                 static_cast<unsigned long long>(max), text);
    return false;
  }
  *out = static_cast<T>(v);
  return true;
}

// `rel` under ../shared/data from `start` or any of its parents; "" when not found.
std::string search_up(fs::path start, const std::string &rel, std::vector<std::string> *tried) {
  std::error_code ec;
  start = fs::weakly_canonical(start, ec);
  for (fs::path d = start;; d = d.parent_path()) {
    const fs::path candidate = d / ".." / "shared" / "data" / rel;
    tried->push_back(fs::path(d / ".." / "shared" / "data").lexically_normal().string());
    if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
    if (d == d.root_path() || d.parent_path() == d) break;
  }
  return "";
}

std::string find_data(const std::string &rel) {
  std::vector<std::string> tried;
#ifdef TIER_SERVE_DEMO_SOURCE_DIR
  if (std::string p = search_up(TIER_SERVE_DEMO_SOURCE_DIR, rel, &tried); !p.empty()) return p;
#endif
  std::error_code ec;
  if (std::string p = search_up(fs::current_path(ec), rel, &tried); !p.empty()) return p;
  std::fprintf(stderr, "tier-serve-demo: cannot find %s; looked in:\n", rel.c_str());
  for (const std::string &t : tried) std::fprintf(stderr, "  %s\n", t.c_str());
  std::fprintf(stderr, "pass its path with --trace / --moe\n");
  return "";
}

}  // namespace

int parse_options(int argc, char **argv, Options *o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tier-serve-demo: %s needs a value\n", argv[i]);
        return nullptr;
      }
      return argv[++i];
    };
    const char *v = nullptr;
    bool ok = true;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--json") {
      o->json = true;
    } else if (a == "--quiet") {
      o->quiet = true;
    } else if (a == "--no-prefetch") {
      o->prefetch = false;
    } else if (a == "--trace" || a == "--moe" || a == "--topology" || a == "--policy") {
      if (!(v = value())) return 2;
      (a == "--trace"      ? o->trace
       : a == "--moe"      ? o->moe
       : a == "--topology" ? o->topology
                           : o->policy) = v;
    } else if (a == "--capacities") {
      if (!(v = value())) return 2;
      o->capacities_mib.clear();
      std::string text = v;
      for (size_t pos = 0; pos <= text.size();) {
        const size_t comma = std::min(text.find(',', pos), text.size());
        uint64_t mib = 0;
        if (!integer(a, text.substr(pos, comma - pos).c_str(), &mib, 2, uint64_t{1} << 30))
          return 2;
        o->capacities_mib.push_back(mib);
        pos = comma + 1;
      }
    } else if (a == "--seconds") {
      ok = (v = value()) && number(a, v, &o->seconds);
    } else if (a == "--requests") {
      ok = (v = value()) && integer(a, v, &o->requests, 0, UINT64_MAX);
    } else if (a == "--batch") {
      ok = (v = value()) && integer(a, v, &o->batch, 1, 256);
    } else if (a == "--decode-tokens") {
      ok = (v = value()) && integer(a, v, &o->decode_tokens, 1, 4096);
    } else if (a == "--block-mib") {
      ok = (v = value()) && integer(a, v, &o->block_mib, 2, 1024);
    } else if (a == "--pool-blocks") {
      ok = (v = value()) && integer(a, v, &o->pool_blocks, 1, 1u << 20);
    } else if (a == "--expert-mib") {
      ok = (v = value()) && integer(a, v, &o->expert_mib, 1, 1024);
    } else if (a == "--subject-steps") {
      ok = (v = value()) && integer(a, v, &o->subject_steps, 1);
    } else if (a == "--route-tokens") {
      ok = (v = value()) && integer(a, v, &o->route_tokens, 1, 65536);
    } else if (a == "--period-ms") {
      ok = (v = value()) && integer(a, v, &o->period_ms, 1, 3600000);
    } else if (a == "--half-life") {
      ok = (v = value()) && number(a, v, &o->half_life);
      if (ok && o->half_life <= 0) {
        std::fprintf(stderr, "tier-serve-demo: --half-life must be > 0\n");
        return 2;
      }
    } else if (a == "--seed") {
      ok = (v = value()) && integer(a, v, &o->seed, 0, UINT64_MAX);
    } else {
      std::fprintf(stderr, "tier-serve-demo: unknown option \"%s\" (--help lists them)\n", argv[i]);
      return 2;
    }
    if (!ok) return 2;
  }
  if (o->seconds <= 0 && o->requests == 0) {
    std::fprintf(stderr, "tier-serve-demo: --seconds 0 needs a --requests bound\n");
    return 2;
  }
  return -1;
}

bool resolve_data(Options *o) {
  if (o->trace.empty()) o->trace = find_data("traces/mooncake_conversation_trace.jsonl");
  if (o->trace.empty()) return false;
  if (o->moe.empty()) o->moe = find_data("moe/mixtral_8x7b_instruct");
  if (o->moe.empty()) return false;
  std::error_code ec;
  for (const std::string *p : {&o->trace, &o->moe})
    if (!fs::exists(*p, ec)) {
      std::fprintf(stderr, "tier-serve-demo: %s: no such file or directory\n", p->c_str());
      return false;
    }
  return true;
}

}  // namespace serve_demo
