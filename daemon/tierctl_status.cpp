// tierctl_status.cpp - `tierctl status`: tierd's tiers, clients, migrations and epochs now.
#include <cstdio>

#include "tierctl.hpp"
#include "tierctl_daemon.hpp"

namespace tier::cli {

int cmd_status(const GlobalOptions &options, const std::vector<std::string> &args) {
  if (!args.empty()) {
    std::fprintf(stderr, "tierctl status: unexpected argument \"%s\"\n", args.front().c_str());
    return 2;
  }
  Result<daemon_proto::StatusReply> s = fetch_status(options);
  if (!s) {
    std::fprintf(stderr, "tierctl status: %s\n", s.error().message.c_str());
    return 1;
  }
  print_status(*s, options.json);
  return 0;
}

}  // namespace tier::cli
