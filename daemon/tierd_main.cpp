// tierd_main.cpp - tierd's entry point: options from the command line, then the event loop.
//
// The full configuration (TOML file, systemd notify, metrics) comes from daemon/config.hpp
// (ConfigLoader) when that part is merged; until then these flags map onto DaemonOptions
// directly, and SIGHUP re-reads them (so it reports "nothing changed"). See docs/daemon.md.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon_options.hpp"
#include "server.hpp"
#include "tier/tier.h"

namespace {

using tier::daemon::DaemonOptions;

void usage(FILE *to) {
  std::fprintf(to,
               "usage: tierd [options]\n"
               "  --socket PATH         listening socket (default /run/tier/tierd.sock)\n"
               "  --topology SPEC       preset name or topology file (default: as a runtime\n"
               "                        resolves it: $TIER_TOPOLOGY, discovery, preset default)\n"
               "  --policy NAME         placement policy (default heat)\n"
               "  --epoch-ms N          epoch length (default 100)\n"
               "  --budget BYTES        migration budget per epoch (default 256M; K/M/G)\n"
               "  --rate BYTES          migration byte rate limit per second (default 0 = none)\n"
               "  --half-life EPOCHS    heat half-life (default 4)\n"
               "  --admin-group NAME    group allowed admin actions besides root\n"
               "  --max-clients N       (default 1024)\n"
               "  --quota BYTES         fast-tier bytes per client (default 0 = none)\n"
               "  --log-level LEVEL     info or debug (default info)\n"
               "  --check-config        validate the options and the topology, then exit\n"
               "  --version, --help\n");
}

bool parse_bytes(const std::string &text, uint64_t *out) {
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno || end == text.c_str()) return false;
  uint64_t mult = 1;
  std::string suffix(end);
  if (suffix == "K" || suffix == "KiB")
    mult = 1ull << 10;
  else if (suffix == "M" || suffix == "MiB")
    mult = 1ull << 20;
  else if (suffix == "G" || suffix == "GiB")
    mult = 1ull << 30;
  else if (!suffix.empty())
    return false;
  if (v > UINT64_MAX / mult) return false;
  *out = v * mult;
  return true;
}

// Returns 0 to run, or an exit status (+1) when done (help, version, error).
int parse(int argc, char **argv, DaemonOptions *o, bool *check_only) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string *out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tierd: %s needs a value\n", a.c_str());
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    uint64_t n = 0;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 1;
    } else if (a == "--version") {
      std::printf("tierd %s\n", tier_version());
      return 1;
    } else if (a == "--check-config") {
      *check_only = true;
    } else if (a == "--socket") {
      if (!value(&o->socket_path)) return 3;
    } else if (a == "--topology") {
      if (!value(&o->topology)) return 3;
    } else if (a == "--policy") {
      if (!value(&o->policy)) return 3;
    } else if (a == "--admin-group") {
      if (!value(&o->admin_group)) return 3;
    } else if (a == "--log-level") {
      if (!value(&o->log_level)) return 3;
    } else if (a == "--epoch-ms" || a == "--max-clients") {
      if (!value(&v) || !parse_bytes(v, &n) || n == 0 || n > 3600000) {
        std::fprintf(stderr, "tierd: %s needs a number in 1..3600000\n", a.c_str());
        return 3;
      }
      (a == "--epoch-ms" ? o->epoch_ms : o->max_clients) = static_cast<uint32_t>(n);
    } else if (a == "--budget" || a == "--rate" || a == "--quota") {
      if (!value(&v) || !parse_bytes(v, &n)) {
        std::fprintf(stderr, "tierd: %s needs a byte count (K/M/G suffixes)\n", a.c_str());
        return 3;
      }
      (a == "--budget" ? o->budget_bytes_per_epoch
       : a == "--rate" ? o->rate_bytes_per_second
                       : o->default_quota_bytes) = n;
    } else if (a == "--half-life") {
      if (!value(&v)) return 3;
      o->half_life_epochs = std::strtod(v.c_str(), nullptr);
      if (!(o->half_life_epochs > 0)) {
        std::fprintf(stderr, "tierd: --half-life must be > 0\n");
        return 3;
      }
    } else {
      std::fprintf(stderr, "tierd: unknown option %s\n", a.c_str());
      usage(stderr);
      return 3;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  DaemonOptions options;
  bool check_only = false;
  if (int r = parse(argc, argv, &options, &check_only); r) return r - 1;
  auto reload = [argc, argv]() -> tier::Result<DaemonOptions> {
    DaemonOptions o;
    bool c = false;
    if (parse(argc, argv, &o, &c) != 0)
      return tier::make_error(TIER_ECONFIG, "the command line no longer parses");
    return o;
  };
  if (check_only) {
    // Everything setup() would check, without binding the socket.
    tier::Result<tier::Topology> t =
        tier::resolve_topology(options.topology.empty() ? nullptr : options.topology.c_str());
    if (!t) {
      std::fprintf(stderr, "tierd: topology: %s\n", t.error().message.c_str());
      return 2;
    }
    tier::Result<tier::policy::Policy> p = tier::policy::make_policy(options.policy);
    if (!p) {
      std::fprintf(stderr, "tierd: policy: %s\n", p.error().message.c_str());
      return 2;
    }
    std::printf("tierd: configuration is valid (topology %s, policy %s)\n", t->source.c_str(),
                options.policy.c_str());
    return 0;
  }
  tier::Result<std::unique_ptr<tier::daemon::Server>> server =
      tier::daemon::Server::create(options, reload);
  if (!server) {
    std::fprintf(stderr, "tierd: %s\n", server.error().message.c_str());
    return 1;
  }
  return (*server)->run();
}
