// config_diff.cpp - what a reload changed (describe_changes) and the effective configuration
// as TOML (config_text). Both walk the key table, so a new key shows up in both by itself.
// Stateless; thread-safe.
#include <sstream>

#include "config.hpp"
#include "config_keys.hpp"

namespace tier::daemon {

namespace {

std::string show_rule(const ClientRule &r) {
  std::ostringstream o;
  o << "{ ";
  if (!r.match_comm.empty()) o << "match_comm = " << detail::quote(r.match_comm) << ", ";
  if (r.match_uid != -1) o << "match_uid = " << r.match_uid << ", ";
  o << "priority = " << r.priority
    << ", quota_bytes = " << detail::quote(format_size(r.quota_bytes)) << " }";
  return o.str();
}

bool same_rule(const ClientRule &a, const ClientRule &b) {
  return a.match_comm == b.match_comm && a.match_uid == b.match_uid && a.priority == b.priority &&
         a.quota_bytes == b.quota_bytes;
}

}  // namespace

std::vector<std::string> describe_changes(const Config &before, const Config &after) {
  std::vector<std::string> lines;
  if (before.config_path != after.config_path)
    lines.push_back("config_path: " + detail::quote(before.config_path) + " -> " +
                    detail::quote(after.config_path));
  for (const detail::KeySpec &k : detail::key_specs()) {
    std::string a = k.show(before), b = k.show(after);
    if (a != b) lines.push_back(std::string(k.key) + ": " + a + " -> " + b);
  }
  // Rules are compared by position: their order is their precedence.
  size_t n = std::max(before.clients.size(), after.clients.size());
  for (size_t i = 0; i < n; ++i) {
    std::string field = "clients[" + std::to_string(i) + "]: ";
    if (i >= before.clients.size())
      lines.push_back(field + "(none) -> " + show_rule(after.clients[i]));
    else if (i >= after.clients.size())
      lines.push_back(field + show_rule(before.clients[i]) + " -> (none)");
    else if (!same_rule(before.clients[i], after.clients[i]))
      lines.push_back(field + show_rule(before.clients[i]) + " -> " + show_rule(after.clients[i]));
  }
  return lines;
}

std::vector<std::string> changes_needing_restart(const Config &before, const Config &after) {
  std::vector<std::string> keys;
  for (const detail::KeySpec &k : detail::key_specs())
    if (k.restart && k.show(before) != k.show(after)) keys.emplace_back(k.key);
  return keys;
}

std::string config_text(const Config &config) {
  std::ostringstream o;
  o << "# tierd effective configuration";
  if (!config.config_path.empty()) o << " (file: " << config.config_path << ", flags on top)";
  o << "\n";
  // Keys of a table ([metrics], [pool]) are "<table>.<name>" and follow its header; the table
  // keys come after the top-level ones in key_specs(), so every header is written once.
  std::string section;
  for (const detail::KeySpec &k : detail::key_specs()) {
    std::string key = k.key;
    const size_t dot = key.find('.');
    if (dot != std::string::npos) {
      if (key.substr(0, dot) != section) o << "\n[" << key.substr(0, dot) << "]\n";
      section = key.substr(0, dot);
      key = key.substr(dot + 1);
    }
    o << key << " = " << k.show(config) << "\n";
  }
  for (const ClientRule &r : config.clients) {
    o << "\n[[clients]]\n";
    if (!r.match_comm.empty()) o << "match_comm = " << detail::quote(r.match_comm) << "\n";
    if (r.match_uid != -1) o << "match_uid = " << r.match_uid << "\n";
    o << "priority = " << r.priority << "\n";
    o << "quota_bytes = " << detail::quote(format_size(r.quota_bytes)) << "\n";
  }
  return o.str();
}

}  // namespace tier::daemon
