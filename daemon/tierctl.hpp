// tierctl.hpp - the command table of tierctl, so subcommands live in their own files.
//
// Each command gets its arguments after the subcommand name and the global options, writes
// its report to stdout and diagnostics to stderr, and returns the exit status: 0 on success,
// 1 when the operation failed, 2 on bad usage.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace tier::cli {

struct GlobalOptions {
  std::string topology;  // --topology SPEC ("" = as a runtime would choose)
  bool json = false;     // --json
  std::string socket;    // --socket PATH (tierd's; "" = $TIER_DAEMON_SOCKET or the default)
};

struct Command {
  const char *name;
  const char *args;     // usage of the subcommand's own arguments
  const char *summary;  // one line for `tierctl --help`
  int (*run)(const GlobalOptions &options, const std::vector<std::string> &args);
};

const std::vector<Command> &commands();
void print_usage(FILE *to);

int cmd_nodes(const GlobalOptions &options, const std::vector<std::string> &args);
int cmd_presets(const GlobalOptions &options, const std::vector<std::string> &args);
// tierd's views and controls (tierctl_daemon.hpp and one file each).
int cmd_status(const GlobalOptions &options, const std::vector<std::string> &args);
int cmd_top(const GlobalOptions &options, const std::vector<std::string> &args);
int cmd_clients(const GlobalOptions &options, const std::vector<std::string> &args);
int cmd_policy(const GlobalOptions &options, const std::vector<std::string> &args);
int cmd_migrate(const GlobalOptions &options, const std::vector<std::string> &args);
int cmd_pool(const GlobalOptions &options, const std::vector<std::string> &args);

}  // namespace tier::cli
