// test_daemon_config.cpp - tierd's configuration: good files, the example file, sizes, flags
// over the file, --metrics forms, the actions, reload and its diff, config_text round trip.
#include <catch2/catch.hpp>

#include "config.hpp"
#include "test_daemon_util.hpp"

using namespace tier::daemon;
using tier::test::Argv;
using tier::test::TempDir;

namespace {

// Loads with `args`, a default file that does not exist unless given.
tier::Result<Config> load_with(std::vector<std::string> args,
                               const std::string &default_path = "/nonexistent/tierd.toml") {
  Argv a(std::move(args));
  auto loader = ConfigLoader::from_args(a.argc(), a.argv(), default_path);
  if (!loader) return std::move(loader).error();
  return loader->load();
}

std::string source_dir() {
  const char *s = std::getenv("TIER_SOURCE_DIR");
  return s ? s : ".";
}

}  // namespace

TEST_CASE("no file and no flags give the documented defaults", "[daemon][config]") {
  auto c = load_with({});
  REQUIRE(c.ok());
  CHECK(c->config_path.empty());
  CHECK(c->socket_path == "/run/tier/tierd.sock");
  CHECK(c->topology.empty());
  CHECK(c->policy == "heat");
  CHECK(c->epoch_ms == 100);
  CHECK(c->budget_bytes_per_epoch == 256ull << 20);
  CHECK(c->rate_bytes_per_second == 0);
  CHECK(c->half_life_epochs == 4.0);
  CHECK(c->admin_group.empty());
  CHECK(c->max_clients == 1024);
  CHECK(c->hello_timeout_ms == 10000);
  CHECK(c->default_quota_bytes == 0);
  CHECK(c->clients.empty());
  CHECK_FALSE(c->metrics_enabled);
  CHECK(c->metrics_address == "127.0.0.1");
  CHECK(c->metrics_port == 9464);
  CHECK(c->log_level == "info");
}

TEST_CASE("the shipped example file sets every key to its default", "[daemon][config]") {
  std::string example = source_dir() + "/daemon/tierd.toml";
  auto c = load_with({"--config", example});
  REQUIRE(c.ok());
  CHECK(c->config_path == example);
  Config defaults;
  defaults.config_path = example;
  CHECK(describe_changes(defaults, *c).empty());
  // And it really names every key: the effective config's keys all appear in it.
  std::ifstream in(example);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char *key : {"socket_path =",
                          "topology =",
                          "policy =",
                          "epoch_ms =",
                          "budget_bytes_per_epoch =",
                          "rate_bytes_per_second =",
                          "half_life_epochs =",
                          "admin_group =",
                          "max_clients =",
                          "hello_timeout_ms =",
                          "default_quota_bytes =",
                          "log_level =",
                          "[metrics]",
                          "enabled =",
                          "address =",
                          "port =",
                          "[[clients]]",
                          "match_comm =",
                          "match_uid =",
                          "priority =",
                          "quota_bytes ="})
    CHECK(text.find(key) != std::string::npos);
}

TEST_CASE("a full file is read into every field", "[daemon][config]") {
  TempDir dir;
  std::string topo = dir.write("topo.toml", "# any readable file\n");
  std::string path = dir.write("tierd.toml", R"(
socket_path = "/run/tier/other.sock"
topology = ")" + topo + R"("
policy = "tpp"
epoch_ms = 250
budget_bytes_per_epoch = "1.5GiB"
rate_bytes_per_second = 1073741824
half_life_epochs = 2
admin_group = "root"
max_clients = 16
hello_timeout_ms = 2500
default_quota_bytes = "8G"
log_level = "debug"

[metrics]
enabled = true
address = "::1"
port = 9100

[[clients]]
match_comm = "redis-server"
priority = 100
quota_bytes = "64GiB"

[[clients]]
match_uid = 1001
priority = -10

[[clients]]
match_comm = "redis-server"
match_uid = 1001
)");
  auto c = load_with({"--config", path});
  REQUIRE(c.ok());
  CHECK(c->config_path == path);
  CHECK(c->socket_path == "/run/tier/other.sock");
  CHECK(c->topology == topo);
  CHECK(c->policy == "tpp");
  CHECK(c->epoch_ms == 250);
  CHECK(c->budget_bytes_per_epoch == 1610612736ull);
  CHECK(c->rate_bytes_per_second == 1073741824ull);
  CHECK(c->half_life_epochs == 2.0);
  CHECK(c->admin_group == "root");
  CHECK(c->max_clients == 16);
  CHECK(c->hello_timeout_ms == 2500);
  CHECK(c->default_quota_bytes == 8ull << 30);
  CHECK(c->log_level == "debug");
  CHECK(c->metrics_enabled);
  CHECK(c->metrics_address == "::1");
  CHECK(c->metrics_port == 9100);
  REQUIRE(c->clients.size() == 3);
  CHECK(c->clients[0].match_comm == "redis-server");
  CHECK(c->clients[0].match_uid == -1);
  CHECK(c->clients[0].priority == 100);
  CHECK(c->clients[0].quota_bytes == 64ull << 30);
  CHECK(c->clients[1].match_comm.empty());
  CHECK(c->clients[1].match_uid == 1001);
  CHECK(c->clients[1].priority == -10);
  CHECK(c->clients[1].quota_bytes == 0);
  CHECK(c->clients[2].match_uid == 1001);
}

TEST_CASE("the default file is used when it exists, and only then", "[daemon][config]") {
  TempDir dir;
  std::string path = dir.write("tierd.toml", "epoch_ms = 7\n");
  auto c = load_with({}, path);
  REQUIRE(c.ok());
  CHECK(c->epoch_ms == 7);
  CHECK(c->config_path == path);
  auto none = load_with({}, dir.path() + "/absent.toml");
  REQUIRE(none.ok());
  CHECK(none->epoch_ms == 100);
  CHECK(none->config_path.empty());
}

TEST_CASE("every policy in the registry is accepted", "[daemon][config]") {
  for (const char *p : {"heat", "first-touch", "lru", "lfu", "tpp", "arc"}) {
    auto c = load_with({"--policy", p});
    REQUIRE(c.ok());
    CHECK(c->policy == p);
  }
  auto preset = load_with({"--topology", "preset:dram-2cxl"});
  REQUIRE(preset.ok());
  CHECK(preset->topology == "preset:dram-2cxl");
}

TEST_CASE("sizes parse exactly and print back", "[daemon][config]") {
  CHECK(*parse_size("0") == 0);
  CHECK(*parse_size("4096") == 4096);
  CHECK(*parse_size("256MiB") == 256ull << 20);
  CHECK(*parse_size("256 MiB") == 256ull << 20);
  CHECK(*parse_size("8G") == 8ull << 30);
  CHECK(*parse_size("2KB") == 2000);
  CHECK(*parse_size("1.5GiB") == 1610612736ull);
  CHECK(*parse_size("16TiB") == 16ull << 40);
  CHECK(*parse_size("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(parse_size("18446744073709551616").ok());
  CHECK_FALSE(parse_size("16777216TiB").ok());
  CHECK_FALSE(parse_size("").ok());
  CHECK_FALSE(parse_size("lots").ok());
  CHECK_FALSE(parse_size("-1").ok());
  CHECK_FALSE(parse_size("25%").ok());
  CHECK_FALSE(parse_size("1.2.3G").ok());
  CHECK(parse_size("12 parsecs").error().message ==
        "expected a size like \"256MiB\", got \"12 parsecs\"");
  CHECK(format_size(0) == "0");
  CHECK(format_size(256ull << 20) == "256MiB");
  CHECK(format_size(1610612736ull) == "1536MiB");
  CHECK(format_size(4097) == "4097");
}

TEST_CASE("flags override the file, key by key", "[daemon][config]") {
  TempDir dir;
  std::string path = dir.write("tierd.toml",
                               "epoch_ms = 50\npolicy = \"lru\"\nlog_level = \"debug\"\n"
                               "[metrics]\nenabled = false\nport = 9100\n");
  auto c = load_with({"--config", path, "--epoch-ms", "20", "--budget", "64MiB", "--rate=1G",
                      "--half-life", "0.5", "--socket", "/tmp/t.sock", "--max-clients", "8",
                      "--default-quota", "1GiB", "--admin-group", "root", "--topology",
                      "preset:default"});
  REQUIRE(c.ok());
  CHECK(c->epoch_ms == 20);        // flag over file
  CHECK(c->policy == "lru");       // file, no flag
  CHECK(c->log_level == "debug");  // file, no flag
  CHECK(c->budget_bytes_per_epoch == 64ull << 20);
  CHECK(c->rate_bytes_per_second == 1ull << 30);
  CHECK(c->half_life_epochs == 0.5);
  CHECK(c->socket_path == "/tmp/t.sock");
  CHECK(c->max_clients == 8);
  CHECK(c->default_quota_bytes == 1ull << 30);
  CHECK(c->admin_group == "root");
  CHECK(c->topology == "preset:default");
  CHECK_FALSE(c->metrics_enabled);
  CHECK(c->metrics_port == 9100);
  auto hello = load_with({"--config", path, "--hello-timeout-ms", "750"});
  REQUIRE(hello.ok());
  CHECK(hello->hello_timeout_ms == 750);

  // --metrics forms: bare, port, address, address:port, [v6]:port; the file's port stays
  // unless the flag names one.
  auto bare = load_with({"--config", path, "--metrics"});
  REQUIRE(bare.ok());
  CHECK(bare->metrics_enabled);
  CHECK(bare->metrics_address == "127.0.0.1");
  CHECK(bare->metrics_port == 9100);
  auto port = load_with({"--metrics=9200"});
  REQUIRE(port.ok());
  CHECK((port->metrics_enabled && port->metrics_port == 9200));
  auto both = load_with({"--metrics=0.0.0.0:9300"});
  REQUIRE(both.ok());
  CHECK((both->metrics_address == "0.0.0.0" && both->metrics_port == 9300));
  auto v6 = load_with({"--metrics=[::1]:9400"});
  REQUIRE(v6.ok());
  CHECK((v6->metrics_address == "::1" && v6->metrics_port == 9400));
  auto v6bare = load_with({"--metrics=fe80::1"});
  REQUIRE(v6bare.ok());
  CHECK((v6bare->metrics_address == "fe80::1" && v6bare->metrics_port == 9464));
  // Port 0: any free port (tierd logs the one it got).
  auto any = load_with({"--metrics=127.0.0.1:0"});
  REQUIRE(any.ok());
  CHECK((any->metrics_enabled && any->metrics_port == 0));
}

TEST_CASE("help, version and check-config are reported as actions", "[daemon][config]") {
  Argv none({});
  auto run = ConfigLoader::from_args(none.argc(), none.argv(), "");
  REQUIRE(run.ok());
  CHECK(run->action() == ConfigLoader::Action::kRun);
  Argv help({"--help"});
  auto h = ConfigLoader::from_args(help.argc(), help.argv(), "");
  REQUIRE(h.ok());
  CHECK(h->action() == ConfigLoader::Action::kHelp);
  Argv help_bad({"--epoch-ms", "0", "--help"});  // help wins over a bad value
  auto hb = ConfigLoader::from_args(help_bad.argc(), help_bad.argv(), "");
  REQUIRE(hb.ok());
  CHECK(hb->action() == ConfigLoader::Action::kHelp);
  Argv version({"--version"});
  auto v = ConfigLoader::from_args(version.argc(), version.argv(), "");
  REQUIRE(v.ok());
  CHECK(v->action() == ConfigLoader::Action::kVersion);
  CHECK(ConfigLoader::version_text() == "tierd (Tier) 0.1.0\n");
  Argv check({"--check-config", "--epoch-ms", "5"});
  auto cc = ConfigLoader::from_args(check.argc(), check.argv(), "");
  REQUIRE(cc.ok());
  CHECK(cc->action() == ConfigLoader::Action::kCheckConfig);
  CHECK(cc->load()->epoch_ms == 5);

  std::string usage = ConfigLoader::usage();
  for (const char *flag :
       {"--config", "--check-config", "--socket", "--topology", "--policy", "--epoch-ms",
        "--budget", "--rate", "--half-life", "--admin-group", "--max-clients", "--hello-timeout-ms",
        "--default-quota", "--metrics", "--log-level", "--help", "--version", "(default: 100)",
        "(default: 256MiB)"})
    CHECK(usage.find(flag) != std::string::npos);
}

TEST_CASE("run_action prints what each action documents and returns its exit code",
          "[daemon][config]") {
  TempDir dir;
  std::string good = dir.write("good.toml", "epoch_ms = 42\n");
  std::string bad = dir.write("bad.toml", "epoch_ms = 0\n");
  auto run = [](std::vector<std::string> args, std::string *out, std::string *err) {
    Argv a(std::move(args));
    auto loader = ConfigLoader::from_args(a.argc(), a.argv(), "");
    REQUIRE(loader.ok());
    return run_action(*loader, out, err);
  };
  std::string out, err;
  CHECK(run({"--config", good}, &out, &err) == -1);
  CHECK((out.empty() && err.empty()));
  CHECK(run({"--help"}, &out, &err) == 0);
  CHECK(out == ConfigLoader::usage());
  out.clear();
  CHECK(run({"--version"}, &out, &err) == 0);
  CHECK(out == "tierd (Tier) 0.1.0\n");
  out.clear();
  CHECK(run({"--check-config", "--config", good}, &out, &err) == 0);
  CHECK(out.find("\nepoch_ms = 42\n") != std::string::npos);
  CHECK(err.empty());
  out.clear();
  CHECK(run({"--check-config", "--config", bad}, &out, &err) == 1);
  CHECK(out.empty());
  CHECK(err == "tierd: " + bad + ":1:12: epoch_ms: must be between 1 and 3600000, got 0\n");
}

TEST_CASE("reload re-reads the file under the same flags; a bad file changes nothing",
          "[daemon][config]") {
  TempDir dir;
  std::string path = dir.write("tierd.toml", "epoch_ms = 100\npolicy = \"heat\"\n");
  Argv a({"--config", path, "--log-level", "debug"});
  auto loader = ConfigLoader::from_args(a.argc(), a.argv());
  REQUIRE(loader.ok());
  auto first = loader->load();
  REQUIRE(first.ok());

  dir.write("tierd.toml",
            "epoch_ms = 50\npolicy = \"lfu\"\nlog_level = \"error\"\n"
            "[metrics]\nenabled = true\n[[clients]]\nmatch_comm = \"memcached\"\npriority = 5\n");
  auto second = loader->load();
  REQUIRE(second.ok());
  CHECK(second->log_level == "debug");  // the flag still wins over the new file
  std::vector<std::string> expected = {
      "policy: \"heat\" -> \"lfu\"", "epoch_ms: 100 -> 50", "metrics.enabled: false -> true",
      "clients[0]: (none) -> { match_comm = \"memcached\", priority = 5, quota_bytes = \"0\" }"};
  CHECK(describe_changes(*first, *second) == expected);
  CHECK(describe_changes(*second, *second).empty());

  // A broken file is refused as a whole; the loader still works once it is fixed.
  dir.write("tierd.toml", "epoch_ms = 25\npolicy = \"nope\"\n");
  auto refused = loader->load();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status() == TIER_ECONFIG);
  dir.write("tierd.toml", "epoch_ms = 25\n");
  auto fixed = loader->load();
  REQUIRE(fixed.ok());
  CHECK(fixed->epoch_ms == 25);
  std::vector<std::string> back = {
      "policy: \"lfu\" -> \"heat\"", "epoch_ms: 50 -> 25", "metrics.enabled: true -> false",
      "clients[0]: { match_comm = \"memcached\", priority = 5, quota_bytes = \"0\" } -> (none)"};
  CHECK(describe_changes(*second, *fixed) == back);
}

TEST_CASE("describe_changes names every changed field once", "[daemon][config]") {
  Config a, b;
  b.config_path = "/etc/tier/tierd.toml";
  b.socket_path = "/run/x.sock";
  b.budget_bytes_per_epoch = 1ull << 30;
  b.half_life_epochs = 2.5;
  b.metrics_port = 1;
  b.clients.push_back({"", 0, 0, 0});
  a.clients.push_back({"", 0, 1, 0});
  std::vector<std::string> expected = {
      "config_path: \"\" -> \"/etc/tier/tierd.toml\"",
      "socket_path: \"/run/tier/tierd.sock\" -> \"/run/x.sock\"",
      "budget_bytes_per_epoch: \"256MiB\" -> \"1GiB\"",
      "half_life_epochs: 4.0 -> 2.5",
      "metrics.port: 9464 -> 1",
      "clients[0]: { match_uid = 0, priority = 1, quota_bytes = \"0\" } -> "
      "{ match_uid = 0, priority = 0, quota_bytes = \"0\" }"};
  CHECK(describe_changes(a, b) == expected);
  CHECK(changes_needing_restart(a, b) == std::vector<std::string>{"socket_path"});
  b.topology = "preset:gh200";
  CHECK(changes_needing_restart(a, b) == std::vector<std::string>{"socket_path", "topology"});
  CHECK(changes_needing_restart(a, a).empty());
}

TEST_CASE("config_text is a config file that reads back to the same config", "[daemon][config]") {
  Config c;
  c.policy = "arc";
  c.budget_bytes_per_epoch = 12345 * 4096ull;
  c.half_life_epochs = 0.25;
  c.metrics_enabled = true;
  c.metrics_address = "::1";
  c.socket_path = "/run/tier/a \"quoted\" name.sock";
  c.clients.push_back({"redis-server", -1, 10, 1ull << 30});
  c.clients.push_back({"", 42, -3, 0});
  std::string text = config_text(c);
  auto back = parse_config_text(text, "effective");
  REQUIRE(back.ok());
  back->config_path.clear();
  CHECK(describe_changes(c, *back).empty());
  CHECK(*back == c);
}
