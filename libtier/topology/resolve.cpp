// resolve.cpp - which topology a runtime uses (the precedence of tier_runtime_options.topology,
// docs/topology.md "Choosing a topology"). Thread-safe; reads the environment once per call.
#include <cstdlib>

#include "topology/topology.hpp"

namespace tier {

namespace {

bool is_preset(const std::string &name) {
  for (const std::string &p : preset_names())
    if (p == name) return true;
  return false;
}

}  // namespace

Result<Topology> resolve_topology(const char *spec) {
  std::string chosen = spec != nullptr ? spec : "";
  std::string from = "topology";
  if (chosen.empty()) {
    const char *env = std::getenv("TIER_TOPOLOGY");
    if (env != nullptr && *env != '\0') {
      chosen = env;
      from = "TIER_TOPOLOGY";
    }
  }

  auto machine = discover();
  if (!machine) return std::move(machine).error();

  if (chosen.empty()) {
    // A one-node machine has nothing to tier: emulate the default topology on it so the
    // whole runtime has tiers to work with ("machine" opts out).
    if (machine->nodes.size() == 1) return load_preset("default", *machine);
    return machine;
  }
  if (chosen == "machine") return machine;
  if (is_preset(chosen)) return load_preset(chosen, *machine);
  auto t = load_topology_file(chosen, *machine);
  if (!t && t.error().sys_errno == ENOENT && chosen.find('/') == std::string::npos &&
      chosen.find('.') == std::string::npos) {
    // Probably a mistyped preset name rather than a missing file: say both.
    std::string known;
    for (const std::string &p : preset_names()) known += (known.empty() ? "" : ", ") + p;
    return make_error(TIER_ETOPOLOGY, from + "=\"" + chosen + "\": no such preset (presets: " +
                                          known + ", or \"machine\") and no such file");
  }
  if (!t && from == "TIER_TOPOLOGY") return std::move(t).error().context("TIER_TOPOLOGY");
  return t;
}

}  // namespace tier
