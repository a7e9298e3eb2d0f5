// tierctl_top.cpp - `tierctl top`: status and clients, refreshed every interval (the screen is
// cleared when stdout is a terminal). `--iterations N` stops after N refreshes, so scripts and
// tests can run it; with --json each refresh is one JSON line. Single-threaded.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "tierctl.hpp"
#include "tierctl_daemon.hpp"

namespace tier::cli {

int cmd_top(const GlobalOptions &options, const std::vector<std::string> &args) {
  long iterations = -1, interval_ms = 1000;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--iterations" && has_value) {
      iterations = std::strtol(args[++i].c_str(), nullptr, 10);
    } else if (args[i] == "--interval-ms" && has_value) {
      interval_ms = std::strtol(args[++i].c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr, "tierctl top: unexpected argument \"%s\"\n", args[i].c_str());
      return 2;
    }
  }
  if (iterations == 0 || interval_ms <= 0) {
    std::fprintf(stderr, "tierctl top: --iterations and --interval-ms must be > 0\n");
    return 2;
  }
  const bool tty = ::isatty(STDOUT_FILENO);
  for (long n = 0; iterations < 0 || n < iterations; ++n) {
    if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    Result<daemon_proto::StatusReply> s = fetch_status(options);
    uint32_t total = 0;
    Result<std::vector<daemon_proto::ClientStatus>> cs =
        s ? fetch_clients(options, &total)
          : Result<std::vector<daemon_proto::ClientStatus>>(s.error());
    if (!cs) {
      std::fprintf(stderr, "tierctl top: %s\n", cs.error().message.c_str());
      return 1;
    }
    if (options.json) {
      std::printf("{\"status\":%s,\"clients\":%s}\n", status_json(*s).c_str(),
                  clients_json(*cs, total).c_str());
    } else {
      if (tty) std::printf("\033[H\033[2J");
      print_status(*s, false);
      std::printf("\n");
      print_clients(*cs, total, false);
      if (!tty) std::printf("\n");
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace tier::cli
