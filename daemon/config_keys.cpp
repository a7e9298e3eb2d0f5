// config_keys.cpp - the table of tierd's scalar settings and their checks (config_keys.hpp).
// Ranges are documented in docs/operations.md and daemon/tierd.toml; keep the three in step.
// Stateless; thread-safe (policy_names() and preset_names() lock their own registries).
#include "config_keys.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "policy/policy.hpp"
#include "topology/topology.hpp"

namespace tier::daemon::detail {

namespace {

// The shortest text that reads back as the same double (so config_text() round-trips).
std::string shortest(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

Error bad(std::string message) {
  return make_error(TIER_ECONFIG, std::move(message));
}

Error wrong_type(const char *expected, const Value &v) {
  return bad(std::string("expected ") + expected + ", got " + describe_value(v));
}

Result<int64_t> get_int(const Value &v) {
  if (const int64_t *i = std::get_if<int64_t>(&v)) return *i;
  return wrong_type("an integer", v);
}

Result<int64_t> get_int_in(const Value &v, int64_t lo, int64_t hi) {
  Result<int64_t> i = get_int(v);
  if (!i) return i;
  if (*i < lo || *i > hi)
    return bad("must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
               std::to_string(*i));
  return i;
}

Result<std::string> get_string(const Value &v) {
  if (const std::string *s = std::get_if<std::string>(&v)) return *s;
  return wrong_type("a string", v);
}

// A size is an integer byte count or a string with a unit.
Result<uint64_t> get_size(const Value &v) {
  if (const int64_t *i = std::get_if<int64_t>(&v)) {
    if (*i < 0) return bad("a size cannot be negative, got " + std::to_string(*i));
    return static_cast<uint64_t>(*i);
  }
  if (const std::string *s = std::get_if<std::string>(&v)) return parse_size(*s);
  return wrong_type("a size like \"256MiB\" or a byte count", v);
}

std::string join(const std::vector<std::string> &names) {
  std::string out;
  for (const std::string &n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Error unknown_name(const char *what, const std::string &name,
                   const std::vector<std::string> &known) {
  std::string hint = closest_name(name, known);
  return bad(std::string("unknown ") + what + " " + quote(name) +
             (hint.empty() ? "" : " (did you mean " + quote(hint) + "?)") +
             "; known: " + join(known));
}

Status set_socket(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  // A Unix socket path is limited by sockaddr_un; bind() would fail with an obscure EINVAL.
  if (s->empty() || (*s)[0] != '/') return bad("must be an absolute path, got " + quote(*s));
  if (s->size() >= sizeof(sockaddr_un{}.sun_path))
    return bad("a Unix socket path must be shorter than " +
               std::to_string(sizeof(sockaddr_un{}.sun_path)) + " bytes, got " +
               std::to_string(s->size()));
  c.socket_path = *s;
  return {};
}

Status set_topology(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  if (s->rfind("preset:", 0) == 0) {
    std::string name = s->substr(7);
    std::vector<std::string> presets = preset_names();
    if (std::find(presets.begin(), presets.end(), name) == presets.end())
      return unknown_name("topology preset", name, presets);
  } else if (*s == "machine") {
    // The machine's own discovered nodes, without the emulated fallback: nothing to check.
  } else if (!s->empty() && ::access(s->c_str(), R_OK) != 0) {
    // The daemon parses the file at start; here we only make sure a reload would find it.
    return bad("cannot read topology file " + quote(*s) + ": " + std::strerror(errno));
  }
  c.topology = *s;
  return {};
}

Status set_policy(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  if (!policy::find_policy(*s)) return unknown_name("policy", *s, policy::policy_names());
  c.policy = *s;
  return {};
}

Status set_epoch_ms(Config &c, const Value &v) {
  Result<int64_t> i = get_int_in(v, 1, 3600000);
  if (!i) return std::move(i).error();
  c.epoch_ms = static_cast<uint32_t>(*i);
  return {};
}

Status set_budget(Config &c, const Value &v) {
  Result<uint64_t> b = get_size(v);
  if (!b) return std::move(b).error();
  // Below one page no move could ever fit; a zero budget would silently disable migration.
  if (*b < 4096) return bad("must be at least 4KiB (one page), got " + format_size(*b));
  c.budget_bytes_per_epoch = *b;
  return {};
}

Status set_rate(Config &c, const Value &v) {
  Result<uint64_t> b = get_size(v);
  if (!b) return std::move(b).error();
  c.rate_bytes_per_second = *b;
  return {};
}

Status set_half_life(Config &c, const Value &v) {
  double d;
  if (const double *f = std::get_if<double>(&v))
    d = *f;
  else if (const int64_t *i = std::get_if<int64_t>(&v))
    d = static_cast<double>(*i);
  else
    return wrong_type("a number", v);
  if (!std::isfinite(d) || d <= 0 || d > 1e6)
    return bad("must be greater than 0 and at most 1000000, got " + describe_value(Value(d)));
  c.half_life_epochs = d;
  return {};
}

Status set_admin_group(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  if (!s->empty()) {
    // A misspelt group would lock every administrator out; catch it at load time.
    group gr{};
    group *found = nullptr;
    std::vector<char> buf(16384);
    int rc = ::getgrnam_r(s->c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc != 0 || found == nullptr)
      return bad("no such group " + quote(*s) + (rc ? std::string(": ") + std::strerror(rc) : ""));
  }
  c.admin_group = *s;
  return {};
}

Status set_max_clients(Config &c, const Value &v) {
  Result<int64_t> i = get_int_in(v, 1, 65536);
  if (!i) return std::move(i).error();
  c.max_clients = static_cast<uint32_t>(*i);
  return {};
}

Status set_hello_timeout(Config &c, const Value &v) {
  // Below 100 ms a client on a loaded machine could miss it between connect and hello.
  Result<int64_t> i = get_int_in(v, 100, 3600000);
  if (!i) return std::move(i).error();
  c.hello_timeout_ms = static_cast<uint32_t>(*i);
  return {};
}

Status set_default_quota(Config &c, const Value &v) {
  Result<uint64_t> b = get_size(v);
  if (!b) return std::move(b).error();
  c.default_quota_bytes = *b;
  return {};
}

Status set_log_level(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  static const std::vector<std::string> kLevels = {"error", "warning", "info", "debug"};
  if (std::find(kLevels.begin(), kLevels.end(), *s) == kLevels.end())
    return unknown_name("log level", *s, kLevels);
  c.log_level = *s;
  return {};
}

Status set_metrics_enabled(Config &c, const Value &v) {
  if (const bool *b = std::get_if<bool>(&v)) {
    c.metrics_enabled = *b;
    return {};
  }
  return wrong_type("true or false", v);
}

Status set_metrics_address(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  // Literal addresses only: resolving names at load time would make a reload depend on DNS.
  unsigned char buf[sizeof(in6_addr)];
  if (::inet_pton(AF_INET, s->c_str(), buf) != 1 && ::inet_pton(AF_INET6, s->c_str(), buf) != 1)
    return bad("expected an IPv4 or IPv6 address like \"127.0.0.1\" or \"::1\", got " + quote(*s));
  c.metrics_address = *s;
  return {};
}

Status set_metrics_port(Config &c, const Value &v) {
  // 0 = any free port: tierd logs the one it got (for tests and ad-hoc runs).
  Result<int64_t> i = get_int_in(v, 0, 65535);
  if (!i) return std::move(i).error();
  c.metrics_port = static_cast<uint16_t>(*i);
  return {};
}

Status set_pool_backend(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  // devdax is the other backend issue #13 names; it is not written yet, so it is refused here
  // rather than accepted and ignored.
  static const std::vector<std::string> kBackends = {"none", "file"};
  if (std::find(kBackends.begin(), kBackends.end(), *s) == kBackends.end())
    return unknown_name("pool backend", *s, kBackends);
  c.pool_backend = *s;
  return {};
}

Status set_pool_path(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  if (s->empty() || (*s)[0] != '/') return bad("must be an absolute path, got " + quote(*s));
  c.pool_path = *s;
  return {};
}

Status set_pool_size(Config &c, const Value &v) {
  Result<uint64_t> b = get_size(v);
  if (!b) return std::move(b).error();
  // Extents are 2 MiB-aligned on the file backend (a THP), so the media is too.
  if (*b == 0 || *b % (2ull << 20) != 0)
    return bad("must be a positive multiple of 2MiB, got " + format_size(*b));
  c.pool_size = *b;
  return {};
}

Status set_pool_host_id(Config &c, const Value &v) {
  Result<int64_t> i = get_int_in(v, 0, 63);  // the file backend's 64 host slots
  if (!i) return std::move(i).error();
  c.pool_host_id = static_cast<uint32_t>(*i);
  return {};
}

Status set_pool_coordination(Config &c, const Value &v) {
  Result<std::string> s = get_string(v);
  if (!s) return std::move(s).error();
  // Several hosts need etcd (EtcdStore, on the coord branch); until it is part of tierd only
  // the embedded store, for one host, is accepted.
  if (*s != "embedded")
    return bad(
        "only \"embedded\" (one host, no external service) is supported by this tierd, "
        "got " +
        quote(*s));
  c.pool_coordination = *s;
  return {};
}

Status set_pool_extent_size(Config &c, const Value &v) {
  Result<uint64_t> b = get_size(v);
  if (!b) return std::move(b).error();
  if (*b == 0 || *b % (2ull << 20) != 0)
    return bad("must be a positive multiple of 2MiB, got " + format_size(*b));
  c.pool_extent_size = *b;
  return {};
}

Status set_pool_giveback_timeout(Config &c, const Value &v) {
  Result<int64_t> i = get_int_in(v, 1, 3600000);
  if (!i) return std::move(i).error();
  c.pool_giveback_timeout_ms = static_cast<uint32_t>(*i);
  return {};
}

Status set_pool_lease_ttl(Config &c, const Value &v) {
  // etcd's minimum TTL is a few seconds; below 2 s one slow epoch would lose the lease.
  Result<int64_t> i = get_int_in(v, 2, 3600);
  if (!i) return std::move(i).error();
  c.pool_lease_ttl_s = static_cast<uint32_t>(*i);
  return {};
}

std::string show_double(double d) {
  std::string s = shortest(d);
  // Keep it a TOML float so config_text() reads back with the same type.
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

const std::vector<KeySpec> &key_specs() {
  static const std::vector<KeySpec> kSpecs = {
      {"socket_path", "--socket", Kind::kString, set_socket,
       [](const Config &c) { return quote(c.socket_path); }, true},
      {"topology", "--topology", Kind::kString, set_topology,
       [](const Config &c) { return quote(c.topology); }, true},
      {"policy", "--policy", Kind::kString, set_policy,
       [](const Config &c) { return quote(c.policy); }},
      {"epoch_ms", "--epoch-ms", Kind::kInt, set_epoch_ms,
       [](const Config &c) { return std::to_string(c.epoch_ms); }},
      {"budget_bytes_per_epoch", "--budget", Kind::kSize, set_budget,
       [](const Config &c) { return quote(format_size(c.budget_bytes_per_epoch)); }},
      {"rate_bytes_per_second", "--rate", Kind::kSize, set_rate,
       [](const Config &c) { return quote(format_size(c.rate_bytes_per_second)); }},
      {"half_life_epochs", "--half-life", Kind::kDouble, set_half_life,
       [](const Config &c) { return show_double(c.half_life_epochs); }},
      {"admin_group", "--admin-group", Kind::kString, set_admin_group,
       [](const Config &c) { return quote(c.admin_group); }},
      {"max_clients", "--max-clients", Kind::kInt, set_max_clients,
       [](const Config &c) { return std::to_string(c.max_clients); }},
      {"hello_timeout_ms", "--hello-timeout-ms", Kind::kInt, set_hello_timeout,
       [](const Config &c) { return std::to_string(c.hello_timeout_ms); }},
      {"default_quota_bytes", "--default-quota", Kind::kSize, set_default_quota,
       [](const Config &c) { return quote(format_size(c.default_quota_bytes)); }},
      {"log_level", "--log-level", Kind::kString, set_log_level,
       [](const Config &c) { return quote(c.log_level); }},
      // --metrics[=ADDR:PORT] sets all three; config_flags.cpp splits it.
      {"metrics.enabled", nullptr, Kind::kBool, set_metrics_enabled,
       [](const Config &c) { return std::string(c.metrics_enabled ? "true" : "false"); }},
      {"metrics.address", nullptr, Kind::kString, set_metrics_address,
       [](const Config &c) { return quote(c.metrics_address); }},
      {"metrics.port", nullptr, Kind::kInt, set_metrics_port,
       [](const Config &c) { return std::to_string(c.metrics_port); }},
      {"pool.backend", nullptr, Kind::kString, set_pool_backend,
       [](const Config &c) { return quote(c.pool_backend); }, true},
      {"pool.path", nullptr, Kind::kString, set_pool_path,
       [](const Config &c) { return quote(c.pool_path); }, true},
      {"pool.size", nullptr, Kind::kSize, set_pool_size,
       [](const Config &c) { return quote(format_size(c.pool_size)); }, true},
      {"pool.host_id", nullptr, Kind::kInt, set_pool_host_id,
       [](const Config &c) { return std::to_string(c.pool_host_id); }, true},
      {"pool.coordination", nullptr, Kind::kString, set_pool_coordination,
       [](const Config &c) { return quote(c.pool_coordination); }, true},
      {"pool.extent_size", nullptr, Kind::kSize, set_pool_extent_size,
       [](const Config &c) { return quote(format_size(c.pool_extent_size)); }, true},
      {"pool.giveback_timeout_ms", nullptr, Kind::kInt, set_pool_giveback_timeout,
       [](const Config &c) { return std::to_string(c.pool_giveback_timeout_ms); }, true},
      {"pool.lease_ttl_s", nullptr, Kind::kInt, set_pool_lease_ttl,
       [](const Config &c) { return std::to_string(c.pool_lease_ttl_s); }, true},
  };
  return kSpecs;
}

const KeySpec *find_key(std::string_view key) {
  for (const KeySpec &k : key_specs())
    if (key == k.key) return &k;
  return nullptr;
}

Status value_from_flag_text(Kind kind, const std::string &text, Value *out) {
  switch (kind) {
    case Kind::kInt: {
      int64_t i = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        return bad("expected an integer, got " + quote(text));
      *out = i;
      return {};
    }
    case Kind::kDouble: {
      char *end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size())
        return bad("expected a number, got " + quote(text));
      *out = d;
      return {};
    }
    case Kind::kBool:
      if (text == "true" || text == "yes" || text == "1") {
        *out = true;
        return {};
      }
      if (text == "false" || text == "no" || text == "0") {
        *out = false;
        return {};
      }
      return bad("expected true or false, got " + quote(text));
    case Kind::kString:
    case Kind::kSize:
      *out = text;
      return {};
  }
  return bad("internal: unknown kind");
}

std::string describe_value(const Value &value) {
  if (const bool *b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const int64_t *i = std::get_if<int64_t>(&value)) return "the integer " + std::to_string(*i);
  if (const double *d = std::get_if<double>(&value)) return "the number " + shortest(*d);
  return "the string " + quote(std::get<std::string>(value));
}

std::string closest_name(std::string_view word, const std::vector<std::string> &candidates) {
  // Levenshtein distance, two rows; candidates are short key names.
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;  // beyond this it is no hint
  for (const std::string &c : candidates) {
    size_t d = distance(word, c);
    // "quota" for "quota_bytes": a leading part of a long key is a likely slip too.
    if (word.size() >= 4 && c.rfind(word, 0) == 0) d = std::min<size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

Status check_comm(const std::string &comm) {
  // The kernel keeps 15 bytes of comm (TASK_COMM_LEN - 1): a longer name would never match.
  if (comm.size() > 15)
    return bad("a process name (comm) is at most 15 bytes, got " + quote(comm) + " (" +
               std::to_string(comm.size()) + " bytes)");
  if (comm.find('/') != std::string::npos)
    return bad("expected a process name as in /proc/PID/comm, not a path, got " + quote(comm));
  return {};
}

Status check_uid(int64_t uid) {
  if (uid < -1 || uid > 4294967294LL)
    return bad("must be -1 (any user) or a uid between 0 and 4294967294, got " +
               std::to_string(uid));
  return {};
}

Status check_priority(int64_t priority) {
  if (priority < -1000 || priority > 1000)
    return bad("must be between -1000 and 1000, got " + std::to_string(priority));
  return {};
}

}  // namespace tier::daemon::detail
