// tierctl_clients.cpp - `tierctl clients`: each client's pid, command, and bytes per tier.
// Single-threaded.
#include <cstdio>

#include "tierctl.hpp"
#include "tierctl_daemon.hpp"

namespace tier::cli {

int cmd_clients(const GlobalOptions &options, const std::vector<std::string> &args) {
  if (!args.empty()) {
    std::fprintf(stderr, "tierctl clients: unexpected argument \"%s\"\n", args.front().c_str());
    return 2;
  }
  uint32_t total = 0;
  Result<std::vector<daemon_proto::ClientStatus>> cs = fetch_clients(options, &total);
  if (!cs) {
    std::fprintf(stderr, "tierctl clients: %s\n", cs.error().message.c_str());
    return 1;
  }
  print_clients(*cs, total, options.json);
  return 0;
}

}  // namespace tier::cli
