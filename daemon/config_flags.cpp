// config_flags.cpp - tierd's command line (Boost.Program_options) and ConfigLoader::load().
//
// Flags are parsed and checked once, in from_args(), so a typo fails at start rather than
// at the first SIGHUP; load() re-reads the file and applies the kept flags on top. Prefix
// guessing ("--epoch" for "--epoch-ms") is off: an abbreviation that becomes ambiguous when
// a flag is added would change meaning under an operator's unit file.
// Thread-safety: from_args() is reentrant; load() is const.
#include <boost/program_options.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <sys/stat.h>

#include "config.hpp"
#include "common/text_file.hpp"
#include "config_keys.hpp"
#include "tier/tier.h"

namespace tier::daemon {

namespace po = boost::program_options;

namespace {

po::options_description describe_options() {
  Config d;  // defaults, so the help text cannot drift from the struct
  po::options_description o("tierd options (flags override the config file)", 100, 50);
  auto dflt = [](const std::string &s) { return " (default: " + s + ")"; };
  std::string budget = format_size(d.budget_bytes_per_epoch);
  const std::string hello_timeout = "close a connection silent this long, 100..3600000 ms" +
                                    dflt(std::to_string(d.hello_timeout_ms));
  o.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "config,c", po::value<std::string>()->value_name("FILE"),
      (std::string("config file; must exist") +
       dflt(std::string(kDefaultConfigPath) + " if it exists"))
          .c_str())("check-config",
                    "check the configuration, print it as TOML and exit (0 valid, 1 invalid)")(
      "socket", po::value<std::string>()->value_name("PATH"),
      ("client socket" + dflt(d.socket_path)).c_str())(
      "topology", po::value<std::string>()->value_name("SPEC"),
      "topology: a TOML file or preset:NAME (default: discover the machine)")(
      "policy", po::value<std::string>()->value_name("NAME"),
      ("placement policy" + dflt(d.policy)).c_str())(
      "epoch-ms", po::value<std::string>()->value_name("N"),
      ("placement epoch, 1..3600000 ms" + dflt(std::to_string(d.epoch_ms))).c_str())(
      "budget", po::value<std::string>()->value_name("SIZE"),
      ("bytes migrated per epoch at most, >= 4KiB" + dflt(budget)).c_str())(
      "rate", po::value<std::string>()->value_name("SIZE"),
      "bytes migrated per second at most, 0 = no limit (default: 0)")(
      "half-life", po::value<std::string>()->value_name("EPOCHS"),
      "heat half-life in epochs, > 0 (default: 4)")(
      "admin-group", po::value<std::string>()->value_name("GROUP"),
      "group allowed admin actions besides root (default: none)")(
      "max-clients", po::value<std::string>()->value_name("N"),
      ("clients at once, 1..65536" + dflt(std::to_string(d.max_clients))).c_str())(
      "hello-timeout-ms", po::value<std::string>()->value_name("N"), hello_timeout.c_str())(
      "default-quota", po::value<std::string>()->value_name("SIZE"),
      "fast-tier bytes per client, 0 = no quota (default: 0)")(
      "metrics", po::value<std::string>()->implicit_value("")->value_name("ADDR:PORT"),
      "serve Prometheus metrics (default: off; 127.0.0.1:9464 when given bare)")(
      "log-level", po::value<std::string>()->value_name("LEVEL"),
      ("error, warning, info or debug" + dflt(d.log_level)).c_str());
  return o;
}

// --metrics VALUE -> the three metrics.* keys. Accepts "", "ADDR", "PORT", "ADDR:PORT" and
// "[V6ADDR]:PORT"; each part is checked later by the key table like a file value.
std::vector<ConfigLoader::Override> split_metrics(const std::string &text) {
  std::vector<ConfigLoader::Override> out = {{"--metrics", "metrics.enabled", "true"}};
  if (text.empty()) return out;
  std::string addr, port;
  if (text[0] == '[') {
    size_t close = text.find(']');
    addr = text.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < text.size()) {
      port = text.substr(close + 1);
      port = port[0] == ':' ? port.substr(1) : "x" + port;  // "x" keeps garbage an error
    }
  } else if (text.find_first_not_of("0123456789") == std::string::npos) {
    port = text;
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    addr = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  } else {
    addr = text;  // a bare IPv6 address, or garbage for the address check to name
  }
  if (!addr.empty()) out.push_back({"--metrics", "metrics.address", addr});
  if (!port.empty() || (text.back() == ':')) out.push_back({"--metrics", "metrics.port", port});
  return out;
}

Status apply(Config &config, const ConfigLoader::Override &o) {
  const detail::KeySpec *spec = detail::find_key(o.key);
  if (!spec) return make_error(TIER_ECONFIG, o.flag + ": internal: no key " + o.key);
  detail::Value v;
  if (Status st = detail::value_from_flag_text(spec->kind, o.text, &v); !st)
    return make_error(TIER_ECONFIG, o.flag + ": " + st.error().message);
  if (Status st = spec->set(config, v); !st)
    return make_error(TIER_ECONFIG, o.flag + ": " + st.error().message);
  return {};
}

}  // namespace

Result<ConfigLoader> ConfigLoader::from_args(int argc, char **argv) {
  return from_args(argc, argv, kDefaultConfigPath);
}

Result<ConfigLoader> ConfigLoader::from_args(int argc, char **argv,
                                             const std::string &default_config_path) {
  ConfigLoader loader;
  loader.default_path_ = default_config_path;
  po::options_description options = describe_options();
  po::variables_map vm;
  try {
    int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    // No positional arguments: an empty description makes a stray word an error.
    po::positional_options_description none;
    po::store(
        po::command_line_parser(argc, argv).options(options).positional(none).style(style).run(),
        vm);
    po::notify(vm);
  } catch (const po::unknown_option &e) {
    std::vector<std::string> flags;
    for (const auto &opt : options.options()) flags.push_back("--" + opt->long_name());
    std::string hint = detail::closest_name(e.get_option_name(), flags);
    return make_error(TIER_ECONFIG, std::string(e.what()) +
                                        (hint.empty() ? "" : " (did you mean " + hint + "?)"));
  } catch (const po::error &e) {
    return make_error(TIER_ECONFIG, e.what());
  }

  // --help and --version answer whatever else is on the line (as with most tools).
  if (vm.count("help") || vm.count("version")) {
    loader.action_ = vm.count("help") ? Action::kHelp : Action::kVersion;
    return loader;
  }
  if (vm.count("check-config")) loader.action_ = Action::kCheckConfig;
  if (vm.count("config")) {
    loader.explicit_path_ = vm["config"].as<std::string>();
    if (loader.explicit_path_.empty())
      return make_error(TIER_ECONFIG, "--config: expected a file name, got \"\"");
  }

  for (const detail::KeySpec &k : detail::key_specs()) {
    if (!k.flag || !vm.count(k.flag + 2)) continue;
    loader.overrides_.push_back({k.flag, k.key, vm[k.flag + 2].as<std::string>()});
  }
  if (vm.count("metrics"))
    for (Override &o : split_metrics(vm["metrics"].as<std::string>()))
      loader.overrides_.push_back(std::move(o));

  // Check every flag now, on defaults: a bad flag is a start-up error, never a reload error.
  Config probe;
  for (const Override &o : loader.overrides_)
    if (Status st = apply(probe, o); !st) return std::move(st).error();
  return loader;
}

Result<Config> ConfigLoader::load() const {
  std::string path = explicit_path_;
  if (path.empty() && !default_path_.empty()) {
    struct stat st {};
    // The default file is optional; a file named with --config is not.
    if (::stat(default_path_.c_str(), &st) == 0) path = default_path_;
  }
  Config config;
  if (!path.empty()) {
    Result<std::string> text = read_text_file(path, TIER_ECONFIG);
    if (!text) return std::move(text).error();
    Result<Config> parsed = parse_config_text(*text, path);
    if (!parsed) return parsed;
    config = std::move(*parsed);
  }
  for (const Override &o : overrides_)
    if (Status st = apply(config, o); !st) return std::move(st).error();
  return config;
}

std::string ConfigLoader::usage() {
  std::ostringstream o;
  o << "usage: tierd [OPTIONS]\n\n" << describe_options();
  o << "\nSIGHUP re-reads the config file (flags stay on top); a refused reload keeps the\n"
       "running configuration. See docs/operations.md.\n";
  return o.str();
}

std::string ConfigLoader::version_text() {
  return std::string("tierd (Tier) ") + std::to_string(TIER_VERSION_MAJOR) + "." +
         std::to_string(TIER_VERSION_MINOR) + "." + std::to_string(TIER_VERSION_PATCH) + "\n";
}

int run_action(const ConfigLoader &loader, std::string *out, std::string *err) {
  switch (loader.action()) {
    case ConfigLoader::Action::kRun:
      return -1;
    case ConfigLoader::Action::kHelp:
      *out += ConfigLoader::usage();
      return 0;
    case ConfigLoader::Action::kVersion:
      *out += ConfigLoader::version_text();
      return 0;
    case ConfigLoader::Action::kCheckConfig:
      break;
  }
  Result<Config> config = loader.load();
  if (!config) {
    *err += "tierd: " + config.error().message + "\n";
    return 1;
  }
  *out += config_text(*config);
  return 0;
}

}  // namespace tier::daemon
