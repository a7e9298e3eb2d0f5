// config.hpp - tierd's configuration: the TOML file, the command-line flags on top, the
// checks every value goes through, and the diff logged on reload.
//
// Sources, in increasing precedence: built-in defaults, the config file
// (/etc/tier/tierd.toml if it exists, or the file named by --config, which must exist), the
// flags. The file's schema is documented key by key in daemon/tierd.toml and
// docs/operations.md; file keys are the Config field names below ([metrics] and [[clients]]
// are tables).
//
// Errors never abort: every bad input comes back as an Error whose message names the origin,
// the position and the key, e.g.
//   /etc/tier/tierd.toml:7:12: epoch_ms: must be between 1 and 3600000, got 0
//   --budget: expected a size like "256MiB", got "lots"
// A reload is load() again: on error nothing was changed anywhere (load() is const and
// returns a fresh Config), so the daemon keeps the Config it has.
//
// Thread-safety: ConfigLoader is immutable after from_args(); load() may run on any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tier::daemon {

inline constexpr const char *kDefaultConfigPath = "/etc/tier/tierd.toml";

// One [[clients]] rule: a client whose comm (and, when set, uid) matches gets this priority
// and fast-tier quota. At least one of match_comm / match_uid is required.
struct ClientRule {
  std::string match_comm;    // exact process name as in /proc/PID/comm (at most 15 bytes)
  int64_t match_uid = -1;    // -1 = any user
  int priority = 0;          // -1000..1000, higher wins fast-tier capacity first
  uint64_t quota_bytes = 0;  // fast-tier bytes for this client, 0 = none

  bool operator==(const ClientRule &) const = default;
};

struct Config {
  std::string config_path;  // file it came from ("" = none)
  std::string socket_path = "/run/tier/tierd.sock";
  std::string topology;  // "" = discover; a TOML path or "preset:NAME"
  std::string policy = "heat";
  uint32_t epoch_ms = 100;
  uint64_t budget_bytes_per_epoch = 256ull << 20;
  uint64_t rate_bytes_per_second = 0;  // 0 = no rate limit beyond the budget
  double half_life_epochs = 4.0;
  std::string admin_group;  // "" = only root may run admin actions
  uint32_t max_clients = 1024;
  uint32_t hello_timeout_ms = 10000;  // a connection that has said nothing by then is closed
  uint64_t default_quota_bytes = 0;   // fast-tier bytes per client, 0 = no quota
  std::vector<ClientRule> clients;
  bool metrics_enabled = false;
  std::string metrics_address = "127.0.0.1";
  uint16_t metrics_port = 9464;
  std::string log_level = "info";  // error, warning, info, debug
  // [pool]: the CXL 3.1 pool this host draws on (docs/pool.md). Every key needs a restart.
  std::string pool_backend = "none";             // none, file
  std::string pool_path = "/dev/shm/tier-pool";  // the file backend's pool file
  uint64_t pool_size = 1ull << 30;               // media bytes, when tierd formats the file
  uint32_t pool_host_id = 0;                     // 0..63, unique among the pool's hosts
  std::string pool_coordination = "embedded";    // the coordination store (docs/pool.md)
  uint64_t pool_extent_size = 64ull << 20;       // the largest extent a grant offers
  uint32_t pool_giveback_timeout_ms = 5000;      // moving data off before declining
  uint32_t pool_lease_ttl_s = 10;                // the host's lease in the store

  bool operator==(const Config &) const = default;  // field by field, config_path included
};

// Keeps the command line so that SIGHUP can re-read the file with the flags on top.
class ConfigLoader {
 public:
  // What main() should do after from_args():
  //   kRun          start the daemon with load()
  //   kHelp         print usage() on stdout, exit 0
  //   kVersion      print version_text() on stdout, exit 0
  //   kCheckConfig  call load(); on success print config_text() and exit 0, on error print
  //                 the error on stderr and exit 1
  // from_args() itself fails (print the error and usage() on stderr, exit 2) on unknown
  // options, missing or malformed flag values.
  enum class Action { kRun, kHelp, kVersion, kCheckConfig };

  static Result<ConfigLoader> from_args(int argc, char **argv);
  // The same, with another default file (for tests; tierd itself uses kDefaultConfigPath).
  static Result<ConfigLoader> from_args(int argc, char **argv,
                                        const std::string &default_config_path);

  // Re-reads the file (if any), applies the flags, checks everything. Never changes *this.
  Result<Config> load() const;

  Action action() const { return action_; }
  static std::string usage();
  static std::string version_text();

  struct Override {    // one flag's value, already converted and checked
    std::string flag;  // "--epoch-ms"
    std::string key;   // "epoch_ms"
    std::string text;  // as given
  };

 private:
  Action action_ = Action::kRun;
  std::string explicit_path_;  // --config (must exist)
  std::string default_path_;   // used when it exists and --config is absent
  std::vector<Override> overrides_;
};

// For main(): carries out kHelp, kVersion and kCheckConfig, putting what they print in *out
// (stdout) and *err (stderr), and returns the exit code: 0, or 1 for an invalid
// configuration. Returns -1 and prints nothing for kRun.
int run_action(const ConfigLoader &loader, std::string *out, std::string *err);

// Parses a config file's text; origin names it in errors. Does not apply flags.
Result<Config> parse_config_text(std::string_view text, const std::string &origin);

// "epoch_ms: 100 -> 50", one line per changed field, in schema order; empty if equal.
std::vector<std::string> describe_changes(const Config &before, const Config &after);

// The keys among describe_changes() that a reload cannot apply to a running daemon
// (socket_path: the listening socket; topology: every placement is relative to it). The
// daemon keeps their old values, logs these names, and they take effect at the next restart.
std::vector<std::string> changes_needing_restart(const Config &before, const Config &after);

// The effective configuration as a valid TOML config file (for --check-config and logs).
std::string config_text(const Config &config);

// Sizes: a byte count, or a number with a unit: B, KiB MiB GiB TiB (K M G T the same),
// KB MB GB TB (powers of 1000); "1.5GiB" allowed. Error text: expected a size like
// "256MiB", got "x".
Result<uint64_t> parse_size(std::string_view text);
// 268435456 -> "256MiB" (exact when a unit divides it, else plain bytes).
std::string format_size(uint64_t bytes);

}  // namespace tier::daemon
