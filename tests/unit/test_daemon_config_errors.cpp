// test_daemon_config_errors.cpp - every refusal of tierd's configuration, checked for its
// full message: file, line:column and key for the file, the flag for the command line.
#include <catch2/catch.hpp>

#include "config.hpp"
#include "test_daemon_util.hpp"

using namespace tier::daemon;
using tier::test::Argv;
using tier::test::TempDir;

namespace {

struct Case {
  const char *text;
  std::string message;  // exact, with origin "t.toml"
};

const std::string kPolicies = "known: heat, first-touch, lru, lfu, tpp, arc";

}  // namespace

TEST_CASE("bad config files are refused with file:line:column, key and reason",
          "[daemon][config]") {
  const std::vector<Case> cases = {
      {"epoch_ms = 0", "t.toml:1:12: epoch_ms: must be between 1 and 3600000, got 0"},
      {"\n\nepoch_ms = 3600001",
       "t.toml:3:12: epoch_ms: must be between 1 and 3600000, got 3600001"},
      {"epoch_ms = \"100\"", "t.toml:1:12: epoch_ms: expected an integer, got the string \"100\""},
      {"epoch_ms = 1.5", "t.toml:1:12: epoch_ms: expected an integer, got the number 1.5"},
      {"epoch_ms = [1]", "t.toml:1:12: epoch_ms: expected a single value, got an array"},
      {"epoch_sm = 100", "t.toml:1:1: epoch_sm: unknown key (did you mean `epoch_ms`?)"},
      {"budget = \"1G\"",
       "t.toml:1:1: budget: unknown key (did you mean `budget_bytes_per_epoch`?)"},
      {"colour = \"blue\"", "t.toml:1:1: colour: unknown key"},
      {"half_life_epochs = 0.0",
       "t.toml:1:20: half_life_epochs: must be greater than 0 and at most 1000000, got the "
       "number 0"},
      {"half_life_epochs = -1",
       "t.toml:1:20: half_life_epochs: must be greater than 0 and at most 1000000, got the "
       "number -1"},
      {"half_life_epochs = true", "t.toml:1:20: half_life_epochs: expected a number, got true"},
      {"budget_bytes_per_epoch = \"lots\"",
       "t.toml:1:26: budget_bytes_per_epoch: expected a size like \"256MiB\", got \"lots\""},
      {"budget_bytes_per_epoch = 100",
       "t.toml:1:26: budget_bytes_per_epoch: must be at least 4KiB (one page), got 100"},
      {"rate_bytes_per_second = -5",
       "t.toml:1:25: rate_bytes_per_second: a size cannot be negative, got -5"},
      {"default_quota_bytes = \"25%\"",
       "t.toml:1:23: default_quota_bytes: expected a size like \"256MiB\", got \"25%\""},
      {"policy = \"fastest\"", "t.toml:1:10: policy: unknown policy \"fastest\"; " + kPolicies},
      {"policy = \"lfru\"",
       "t.toml:1:10: policy: unknown policy \"lfru\" (did you mean \"lru\"?); " + kPolicies},
      {"log_level = \"verbose\"",
       "t.toml:1:13: log_level: unknown log level \"verbose\"; known: error, warning, info, "
       "debug"},
      {"socket_path = \"tierd.sock\"",
       "t.toml:1:15: socket_path: must be an absolute path, got \"tierd.sock\""},
      {"topology = \"preset:nope\"",
       "t.toml:1:12: topology: unknown topology preset \"nope\"; known: default, "
       "xeon-max-flat, gh200, dram-2cxl, cxl-switched-pool"},
      {"topology = \"/nonexistent/topo.toml\"",
       "t.toml:1:12: topology: cannot read topology file \"/nonexistent/topo.toml\": No such "
       "file or directory"},
      {"admin_group = \"no-such-group-xyz\"",
       "t.toml:1:15: admin_group: no such group \"no-such-group-xyz\""},
      {"max_clients = 0", "t.toml:1:15: max_clients: must be between 1 and 65536, got 0"},
      {"hello_timeout_ms = 99",
       "t.toml:1:20: hello_timeout_ms: must be between 100 and 3600000, got 99"},
      {"[metrics]\nport = -1", "t.toml:2:8: metrics.port: must be between 0 and 65535, got -1"},
      {"[metrics]\nport = 70000",
       "t.toml:2:8: metrics.port: must be between 0 and 65535, got 70000"},
      {"[metrics]\naddress = \"localhost\"",
       "t.toml:2:11: metrics.address: expected an IPv4 or IPv6 address like \"127.0.0.1\" or "
       "\"::1\", got \"localhost\""},
      {"[metrics]\nenable = true",
       "t.toml:2:1: metrics.enable: unknown key (did you mean `enabled`?)"},
      {"[metrics]\nenabled = \"yes\"",
       "t.toml:2:11: metrics.enabled: expected true or false, got the string \"yes\""},
      {"metrics = 1", "t.toml:1:11: metrics: expected a [metrics] table, got a value"},
      {"[metric]\nport = 1", "t.toml:1:2: metric: unknown key (did you mean `metrics`?)"},
      {"clients = 3", "t.toml:1:11: clients: expected [[clients]] tables"},
      {"[[clients]]\nmatch_comm = \"a\"\n\n[[clients]]\nmatch_comm = \"a\"",
       "t.toml:4:1: clients[1]: duplicate rule: same match_comm and match_uid as clients[0] "
       "at line 1"},
      {"[[clients]]\nmatch_uid = 7\n[[clients]]\nmatch_uid = 7\npriority = 3",
       "t.toml:3:1: clients[1]: duplicate rule: same match_comm and match_uid as clients[0] "
       "at line 1"},
      {"[[clients]]\npriority = 5",
       "t.toml:1:1: clients[0]: a rule needs match_comm, match_uid (not -1), or both"},
      {"[[clients]]\nmatch_comm = \"a-very-long-process\"",
       "t.toml:2:14: clients[0].match_comm: a process name (comm) is at most 15 bytes, got "
       "\"a-very-long-process\" (19 bytes)"},
      {"[[clients]]\nmatch_comm = \"/usr/bin/redis\"",
       "t.toml:2:14: clients[0].match_comm: expected a process name as in /proc/PID/comm, not "
       "a path, got \"/usr/bin/redis\""},
      {"[[clients]]\nmatch_comm = \"\"", "t.toml:2:14: clients[0].match_comm: must not be empty"},
      {"[[clients]]\nmatch_comm = 5",
       "t.toml:2:14: clients[0].match_comm: expected a string, got the integer 5"},
      {"[[clients]]\nmatch_uid = -5",
       "t.toml:2:13: clients[0].match_uid: must be -1 (any user) or a uid between 0 and "
       "4294967294, got -5"},
      {"[[clients]]\nmatch_uid = \"root\"",
       "t.toml:2:13: clients[0].match_uid: expected an integer uid, got the string \"root\""},
      {"[[clients]]\nmatch_comm = \"x\"\npriority = 5000",
       "t.toml:3:12: clients[0].priority: must be between -1000 and 1000, got 5000"},
      {"[[clients]]\nmatch_comm = \"x\"\nquota_bytes = \"many\"",
       "t.toml:3:15: clients[0].quota_bytes: expected a size like \"256MiB\", got \"many\""},
      {"[[clients]]\nmatch_comm = \"x\"\nquota_bytes = true",
       "t.toml:3:15: clients[0].quota_bytes: expected a size like \"8GiB\" or a byte count, got "
       "true"},
      {"[[clients]]\nmatch_comm = \"x\"\nquota = \"1G\"",
       "t.toml:3:1: clients[0].quota: unknown key (did you mean `quota_bytes`?)"},
  };
  for (const Case &c : cases) {
    INFO(c.text);
    auto r = parse_config_text(c.text, "t.toml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status() == TIER_ECONFIG);
    CHECK(r.error().message == c.message);
  }
}

TEST_CASE("TOML syntax errors name the position", "[daemon][config]") {
  auto r = parse_config_text("epoch_ms = 1\nepoch_ms = 2\n", "t.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "t.toml:2:12: TOML syntax error: Error while parsing key-value pair: cannot redefine "
        "existing integer 'epoch_ms'");
  auto s = parse_config_text("policy = \"heat\n", "t.toml");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.rfind("t.toml:1:15: TOML syntax error: ", 0) == 0);
}

TEST_CASE("bad flags are refused at start, naming the flag", "[daemon][config]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--epoch-ms", "0"}, "--epoch-ms: must be between 1 and 3600000, got 0"},
      {{"--epoch-ms", "ten"}, "--epoch-ms: expected an integer, got \"ten\""},
      {{"--epoch-ms=5x"}, "--epoch-ms: expected an integer, got \"5x\""},
      {{"--budget", "lots"}, "--budget: expected a size like \"256MiB\", got \"lots\""},
      {{"--rate", "-1"}, "--rate: expected a size like \"256MiB\", got \"-1\""},
      {{"--half-life", "0"},
       "--half-life: must be greater than 0 and at most 1000000, got the number 0"},
      {{"--half-life", "x"}, "--half-life: expected a number, got \"x\""},
      {{"--policy", "fastest"}, "--policy: unknown policy \"fastest\"; " + kPolicies},
      {{"--max-clients", "100000"}, "--max-clients: must be between 1 and 65536, got 100000"},
      {{"--hello-timeout-ms", "0"}, "--hello-timeout-ms: must be between 100 and 3600000, got 0"},
      {{"--log-level", "loud"},
       "--log-level: unknown log level \"loud\"; known: error, warning, info, debug"},
      {{"--metrics=127.0.0.1:99999"}, "--metrics: must be between 0 and 65535, got 99999"},
      {{"--metrics=127.0.0.1:"}, "--metrics: expected an integer, got \"\""},
      {{"--metrics=nonsense"},
       "--metrics: expected an IPv4 or IPv6 address like \"127.0.0.1\" or \"::1\", got "
       "\"nonsense\""},
      {{"--metrics=[::1]x"}, "--metrics: expected an integer, got \"xx\""},
      {{"--polcy", "heat"}, "unrecognised option '--polcy' (did you mean --policy?)"},
      {{"--epoch", "5"}, "unrecognised option '--epoch' (did you mean --epoch-ms?)"},
      {{"--epoch-ms"}, "the required argument for option '--epoch-ms' is missing"},
      {{"--epoch-ms", "1", "--epoch-ms", "2"},
       "option '--epoch-ms' cannot be specified more than once"},
      {{"extra"}, "too many positional options have been specified on the command line"},
      {{"--config", ""}, "--config: expected a file name, got \"\""},
  };
  for (const auto &[args, message] : cases) {
    INFO(args[0]);
    Argv a(args);
    auto r = ConfigLoader::from_args(a.argc(), a.argv(), "");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status() == TIER_ECONFIG);
    CHECK(r.error().message == message);
  }
}

TEST_CASE("a file named by --config must exist and be readable; errors name it",
          "[daemon][config]") {
  TempDir dir;
  std::string missing = dir.path() + "/missing.toml";
  Argv a({"--config", missing});
  auto loader = ConfigLoader::from_args(a.argc(), a.argv());
  REQUIRE(loader.ok());
  auto r = loader->load();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == missing + ": cannot open: No such file or directory");

  // An endless file (tierd --config /dev/zero) is refused at 1 MiB instead of read whole.
  Argv z({"--config", "/dev/zero"});
  auto zero = ConfigLoader::from_args(z.argc(), z.argv());
  REQUIRE(zero.ok());
  auto zr = zero->load();
  REQUIRE_FALSE(zr.ok());
  CHECK(zr.error().message ==
        "/dev/zero: refused: larger than 1048576 bytes (is it the file you meant?)");

  // A flag's check also runs after a file: the file's line is not blamed for a flag.
  std::string path = dir.write("tierd.toml", "\n\n[metrics]\nport = -1\n");
  Argv b({"--config", path, "--metrics=9000"});
  auto with_flag = ConfigLoader::from_args(b.argc(), b.argv());
  REQUIRE(with_flag.ok());
  auto fr = with_flag->load();
  REQUIRE_FALSE(fr.ok());  // the file is checked as a whole, before flags
  CHECK(fr.error().message == path + ":4:8: metrics.port: must be between 0 and 65535, got -1");
}
