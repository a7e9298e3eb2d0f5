// config_file.cpp - reads tierd.toml into a Config (schema: daemon/tierd.toml).
//
// Every error is "FILE:LINE:COLUMN: KEY: what", with the position toml++ records for the
// value (or the table, for a missing key). Unknown keys are errors, not warnings: a misspelt
// "epoch_sm" silently ignored would leave the default in force with nobody noticing.
// Stateless; thread-safe.
#include <toml++/toml.h>

#include <map>
#include <utility>

#include "config.hpp"
#include "config_keys.hpp"

namespace tier::daemon {

namespace {

using detail::KeySpec;
using detail::Value;

struct Ctx {
  const std::string &origin;
  Error fail(const toml::source_region &where, const std::string &key,
             const std::string &what) const {
    std::string msg = origin;
    if (where.begin.line > 0)
      msg += ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
    msg += ": ";
    if (!key.empty()) msg += key + ": ";
    return make_error(TIER_ECONFIG, msg + what);
  }
};

const char *type_name(const toml::node &n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    default:
      return "a value";
  }
}

// Scalars become a Value; tables, arrays and dates are reported with their type. (An
// out-parameter: see value_from_flag_text() on GCC 12's false -Wmaybe-uninitialized.)
Status to_value(const toml::node &n, Value *out) {
  if (auto s = n.as_string())
    *out = s->get();
  else if (auto i = n.as_integer())
    *out = static_cast<int64_t>(i->get());
  else if (auto f = n.as_floating_point())
    *out = f->get();
  else if (auto b = n.as_boolean())
    *out = b->get();
  else
    return make_error(TIER_ECONFIG, std::string("expected a single value, got ") + type_name(n));
  return {};
}

Error unknown_key(const Ctx &ctx, const toml::key &k, const std::string &shown,
                  const std::string &name, const std::vector<std::string> &known) {
  std::string hint = detail::closest_name(name, known);
  return ctx.fail(
      k.source(), shown,
      "unknown key" + (hint.empty() ? std::string() : " (did you mean `" + hint + "`?)"));
}

Status set_scalar(const Ctx &ctx, Config &config, const KeySpec &spec, const toml::node &n) {
  Value v;
  if (Status st = to_value(n, &v); !st) return ctx.fail(n.source(), spec.key, st.error().message);
  if (Status st = spec.set(config, v); !st)
    return ctx.fail(n.source(), spec.key, st.error().message);
  return {};
}

// A table of scalar keys ([metrics], [pool]): its keys are "<section>.<name>" in key_specs().
Status parse_section(const Ctx &ctx, Config &config, const toml::node &node,
                     const std::string &section) {
  const toml::table *t = node.as_table();
  if (!t)
    return ctx.fail(node.source(), section,
                    "expected a [" + section + "] table, got " + type_name(node));
  const std::string prefix = section + ".";
  std::vector<std::string> known;
  for (const KeySpec &k : detail::key_specs())
    if (std::string(k.key).rfind(prefix, 0) == 0)
      known.push_back(std::string(k.key).substr(prefix.size()));
  for (auto &&[key, value] : *t) {
    std::string name(key.str());
    const KeySpec *spec = detail::find_key(prefix + name);
    if (!spec) return unknown_key(ctx, key, prefix + name, name, known);
    if (Status st = set_scalar(ctx, config, *spec, value); !st) return st;
  }
  return {};
}

Status parse_client(const Ctx &ctx, const toml::table &t, const std::string &field,
                    ClientRule *rule) {
  static const std::vector<std::string> kKeys = {"match_comm", "match_uid", "priority",
                                                 "quota_bytes"};
  bool has_comm = false, has_uid = false;
  for (auto &&[key, value] : t) {
    std::string name(key.str());
    std::string shown = field + "." + name;
    Value value_storage;
    if (Status st = to_value(value, &value_storage); !st)
      return ctx.fail(value.source(), shown, st.error().message);
    const Value *v = &value_storage;
    auto want_int = [&](const char *what) -> Result<int64_t> {
      if (const int64_t *i = std::get_if<int64_t>(&*v)) return *i;
      return ctx.fail(value.source(), shown,
                      std::string("expected ") + what + ", got " + detail::describe_value(*v));
    };
    if (name == "match_comm") {
      const std::string *s = std::get_if<std::string>(&*v);
      if (!s)
        return ctx.fail(value.source(), shown,
                        "expected a string, got " + detail::describe_value(*v));
      if (s->empty()) return ctx.fail(value.source(), shown, "must not be empty");
      if (Status st = detail::check_comm(*s); !st)
        return ctx.fail(value.source(), shown, st.error().message);
      rule->match_comm = *s;
      has_comm = true;
    } else if (name == "match_uid") {
      Result<int64_t> i = want_int("an integer uid");
      if (!i) return std::move(i).error();
      if (Status st = detail::check_uid(*i); !st)
        return ctx.fail(value.source(), shown, st.error().message);
      rule->match_uid = *i;
      has_uid = *i != -1;
    } else if (name == "priority") {
      Result<int64_t> i = want_int("an integer");
      if (!i) return std::move(i).error();
      if (Status st = detail::check_priority(*i); !st)
        return ctx.fail(value.source(), shown, st.error().message);
      rule->priority = static_cast<int>(*i);
    } else if (name == "quota_bytes") {
      Result<uint64_t> q = make_error(TIER_ECONFIG, "");
      if (const int64_t *i = std::get_if<int64_t>(&*v)) {
        if (*i < 0)
          return ctx.fail(value.source(), shown,
                          "a size cannot be negative, got " + std::to_string(*i));
        q = static_cast<uint64_t>(*i);
      } else if (const std::string *s = std::get_if<std::string>(&*v)) {
        q = parse_size(*s);
      } else {
        return ctx.fail(
            value.source(), shown,
            "expected a size like \"8GiB\" or a byte count, got " + detail::describe_value(*v));
      }
      if (!q) return ctx.fail(value.source(), shown, q.error().message);
      rule->quota_bytes = *q;
    } else {
      return unknown_key(ctx, key, shown, name, kKeys);
    }
  }
  // A rule matching everyone would silently override default_quota_bytes for all clients.
  if (!has_comm && !has_uid)
    return ctx.fail(t.source(), field, "a rule needs match_comm, match_uid (not -1), or both");
  return {};
}

Status parse_clients(const Ctx &ctx, Config &config, const toml::node &node) {
  const toml::array *a = node.as_array();
  if (!a || !a->is_array_of_tables())
    return ctx.fail(node.source(), "clients", "expected [[clients]] tables");
  // (comm, uid) -> line of the first rule, to name both ends of a duplicate.
  std::map<std::pair<std::string, int64_t>, std::string> seen;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::table &t = *a->get(i)->as_table();
    std::string field = "clients[" + std::to_string(i) + "]";
    ClientRule rule;
    if (Status st = parse_client(ctx, t, field, &rule); !st) return st;
    auto [it, fresh] = seen.emplace(std::make_pair(rule.match_comm, rule.match_uid),
                                    field + " at line " + std::to_string(t.source().begin.line));
    if (!fresh)
      return ctx.fail(t.source(), field,
                      "duplicate rule: same match_comm and match_uid as " + it->second);
    config.clients.push_back(std::move(rule));
  }
  return {};
}

}  // namespace

Result<Config> parse_config_text(std::string_view text, const std::string &origin) {
  Ctx ctx{origin};
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error &e) {
    return ctx.fail(e.source(), "", "TOML syntax error: " + std::string(e.description()));
  }
  Config config;
  config.config_path = origin;
  std::vector<std::string> known = {"metrics", "pool", "clients"};
  for (const KeySpec &k : detail::key_specs())
    if (std::string(k.key).find('.') == std::string::npos) known.emplace_back(k.key);

  for (auto &&[key, value] : root) {
    std::string name(key.str());
    Status st;
    if (name == "metrics" || name == "pool") {
      st = parse_section(ctx, config, value, name);
    } else if (name == "clients") {
      st = parse_clients(ctx, config, value);
    } else if (const KeySpec *spec = detail::find_key(name);
               spec && name.find('.') == std::string::npos) {
      st = set_scalar(ctx, config, *spec, value);
    } else {
      st = unknown_key(ctx, key, name, name, known);
    }
    if (!st) return std::move(st).error();
  }
  return config;
}

}  // namespace tier::daemon
