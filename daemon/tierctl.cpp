// tierctl.cpp - entry point of tierctl, the command-line view of Tier: parses the global
// options and dispatches to a subcommand (tierctl.hpp). Today it shows the topology
// (`nodes`, `presets`) and talks to tierd (`status`, `top`, `clients`, `policy`, `migrate`,
// `pool`).
//
//   tierctl [--topology SPEC] [--json] COMMAND [ARGS]
// Unknown commands or options print the usage on stderr and exit 2.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tierctl.hpp"

namespace tier::cli {

const std::vector<Command> &commands() {
  static const std::vector<Command> kCommands = {
      {"nodes", "", "memory nodes, their kinds, tiers, capacities and figures", cmd_nodes},
      {"presets", "[NAME]", "list the emulation presets, or print one as TOML", cmd_presets},
      {"status", "", "tierd: tiers (capacity, used, hot), clients, migrations, epochs", cmd_status},
      {"top", "[--iterations N] [--interval-ms MS]", "tierd's status and clients, refreshed",
       cmd_top},
      {"clients", "", "tierd's clients: pid, command, bytes per tier", cmd_clients},
      {"policy", "get|set NAME", "tierd's placement policy (set: admin)", cmd_policy},
      {"migrate", "--pid P --range A-B --to NODE", "move a client's registered memory now (admin)",
       cmd_migrate},
      {"pool", "", "tierd's CXL pool: hosts, leases, extents by host and tag, give-backs",
       cmd_pool},
  };
  return kCommands;
}

void print_usage(FILE *to) {
  std::fprintf(to,
               "usage: tierctl [--topology SPEC] [--json] COMMAND [ARGS]\n"
               "\n"
               "options:\n"
               "  --topology SPEC  a preset name, a topology file, or \"machine\" (default: as a\n"
               "                   runtime chooses: $TIER_TOPOLOGY, else discovery, else the\n"
               "                   \"default\" preset on a one-node machine)\n"
               "  --json           machine-readable output\n"
               "  --socket PATH    tierd's socket (default: $TIER_DAEMON_SOCKET, else\n"
               "                   /run/tier/tierd.sock)\n"
               "  -h, --help       this text\n"
               "\n"
               "commands:\n");
  for (const Command &c : commands())
    std::fprintf(to, "  %-8s %-31s %s\n", c.name, c.args, c.summary);
}

}  // namespace tier::cli

int main(int argc, char **argv) {
  using namespace tier::cli;
  GlobalOptions options;
  const Command *command = nullptr;
  std::vector<std::string> rest;
  // Global options are accepted before and after the command name.
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      print_usage(stdout);
      return 0;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--socket") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tierctl: --socket needs a value\n");
        return 2;
      }
      options.socket = argv[++i];
    } else if (arg == "--topology" || arg.rfind("--topology=", 0) == 0) {
      if (arg == "--topology") {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "tierctl: --topology needs a value\n");
          print_usage(stderr);
          return 2;
        }
        options.topology = argv[++i];
      } else {
        options.topology = arg.substr(std::strlen("--topology="));
      }
      if (options.topology.empty()) {
        std::fprintf(stderr, "tierctl: --topology needs a non-empty value\n");
        return 2;
      }
    } else if (arg.size() > 1 && arg[0] == '-' && command == nullptr) {
      std::fprintf(stderr, "tierctl: unknown option %s\n", arg.c_str());
      print_usage(stderr);
      return 2;
    } else if (command == nullptr) {
      for (const Command &c : commands())
        if (arg == c.name) command = &c;
      if (command == nullptr) {
        std::fprintf(stderr, "tierctl: unknown command \"%s\"\n", arg.c_str());
        print_usage(stderr);
        return 2;
      }
    } else {
      rest.push_back(arg);
    }
  }
  if (command == nullptr) {
    print_usage(stderr);
    return 2;
  }
  return command->run(options, rest);
}
