// topology_file.cpp - the TOML topology file: virtual nodes for emulation, or overrides of
// the discovered nodes' kinds and figures (format: docs/topology-file.md).
//
// Every error names the origin (a path, or "preset NAME"), the line, and the field, e.g.
//   topo.toml:7: node[1].capacity: expected a size like "16GiB", got "16 gigs"
// Unknown keys are errors rather than warnings: a typo ("read_latncy_ns") silently ignored
// would leave a default figure in place and skew every placement decision after it.
// Stateless; thread-safe.
#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "topology/kind_defaults.hpp"
#include "topology/size_parse.hpp"
#include "common/text_file.hpp"
#include "topology/topology.hpp"

namespace tier {

namespace {

// Emulated nodes may use at most this share of their backing node when a file
// asks to be scaled to the machine (presets do): the rest is left to the process itself.
constexpr double kScaleShare = 0.5;
constexpr uint64_t kRoundTo = 2ull << 20;  // capacities scale in whole 2 MiB chunks

struct Ctx {
  const std::string &origin;
  Error fail(const toml::source_region &where, const std::string &field,
             const std::string &what) const {
    std::string msg = origin;
    if (where.begin.line > 0) msg += ":" + std::to_string(where.begin.line);
    msg += ": ";
    if (!field.empty()) msg += field + ": ";
    return make_error(TIER_ETOPOLOGY, msg + what);
  }
};

std::string describe(const toml::node &v) {
  if (auto s = v.as_string()) return "\"" + s->get() + "\"";
  std::ostringstream os;
  if (auto i = v.as_integer())
    os << i->get();
  else if (auto f = v.as_floating_point())
    os << f->get();
  else if (auto b = v.as_boolean())
    os << (b->get() ? "true" : "false");
  else
    os << "a " << v.type();
  return os.str();
}

// A declared node before it becomes a Node (percentages need the backing node first).
struct Declared {
  toml::source_region where;
  std::string field;  // "node[1]"
  Node node;
  bool has_kind = false, has_backing = false, has_capacity = false;
  double capacity_percent = 0;  // > 0 when given as "25%"
  toml::source_region capacity_where, id_where, backing_where;
};

Result<Figure> read_figure(const Ctx &ctx, const toml::node &v, const std::string &field,
                           double scale, tier_source source) {
  std::optional<double> d = v.value<double>();
  if (!d || !std::isfinite(*d) || *d <= 0)
    return ctx.fail(v.source(), field, "expected a positive number, got " + describe(v));
  return Figure{*d * scale, source};
}

Result<Declared> read_node(const Ctx &ctx, const toml::table &tbl, size_t index,
                           tier_source source) {
  Declared d;
  d.where = tbl.source();
  d.field = "node[" + std::to_string(index) + "]";
  static const std::set<std::string> kKeys = {"id",
                                              "kind",
                                              "name",
                                              "capacity",
                                              "read_latency_ns",
                                              "write_latency_ns",
                                              "read_bandwidth_gbps",
                                              "write_bandwidth_gbps",
                                              "backing"};
  for (auto &&[key, value] : tbl) {
    std::string k(key.str());
    std::string field = d.field + "." + k;
    if (!kKeys.count(k))
      return ctx.fail(key.source(), field,
                      "unknown key (known: id, kind, name, capacity, read_latency_ns, "
                      "write_latency_ns, read_bandwidth_gbps, write_bandwidth_gbps, backing)");
    if (k == "id" || k == "backing") {
      auto i = value.value<int64_t>();
      if (!value.is_integer() || !i || *i < 0 || *i > 4095)
        return ctx.fail(value.source(), field,
                        "expected a node number 0..4095, got " + describe(value));
      if (k == "id") {
        d.node.id = static_cast<int>(*i);
        d.id_where = value.source();
      } else {
        d.node.backing_node = static_cast<int>(*i);
        d.backing_where = value.source();
        d.has_backing = true;
      }
    } else if (k == "kind") {
      auto s = value.value<std::string>();
      auto kind = s ? parse_kind(*s) : std::nullopt;
      if (!value.is_string() || !kind || *kind == TIER_KIND_UNKNOWN)
        return ctx.fail(
            value.source(), field,
            "expected one of \"hbm\", \"dram\", \"cxl\", \"cxl-pool\", got " + describe(value));
      d.node.kind = *kind;
      d.has_kind = true;
    } else if (k == "name") {
      auto s = value.value<std::string>();
      if (!value.is_string() || s->empty() || s->size() >= TIER_NAME_MAX)
        return ctx.fail(value.source(), field,
                        "expected a name of 1.." + std::to_string(TIER_NAME_MAX - 1) +
                            " characters, got " + describe(value));
      d.node.name = *s;
    } else if (k == "capacity") {
      d.capacity_where = value.source();
      d.has_capacity = true;
      if (value.is_integer()) {
        int64_t i = *value.value<int64_t>();
        if (i <= 0)
          return ctx.fail(value.source(), field,
                          "capacity must be positive, got " + describe(value));
        d.node.capacity = static_cast<uint64_t>(i);
      } else if (value.is_string()) {
        auto parsed = parse_capacity(*value.value<std::string>());
        if (!parsed) return ctx.fail(value.source(), field, parsed.error().message);
        if (parsed->percent > 0)
          d.capacity_percent = parsed->percent;
        else
          d.node.capacity = parsed->bytes;
      } else {
        return ctx.fail(value.source(), field,
                        "expected a size like \"16GiB\" or a byte count, got " + describe(value));
      }
    } else {
      const bool bandwidth = k.find("bandwidth") != std::string::npos;
      auto fig = read_figure(ctx, value, field, bandwidth ? 1000.0 : 1.0, source);
      if (!fig) return std::move(fig).error();
      if (k == "read_latency_ns") d.node.read_latency_ns = *fig;
      if (k == "write_latency_ns") d.node.write_latency_ns = *fig;
      if (k == "read_bandwidth_gbps") d.node.read_bandwidth_mbps = *fig;
      if (k == "write_bandwidth_gbps") d.node.write_bandwidth_mbps = *fig;
    }
  }
  if (d.node.id < 0) return ctx.fail(d.where, d.field + ".id", "missing (every node needs an id)");
  return d;
}

uint64_t round_capacity(double bytes) {
  uint64_t b = static_cast<uint64_t>(bytes);
  b -= b % kRoundTo;
  return b < kRoundTo ? kRoundTo : b;
}

// Percentages become bytes of the backing (or overridden) node's memory.
Status resolve_percent(const Ctx &ctx, Declared &d, const Node *base) {
  if (d.capacity_percent <= 0) return {};
  if (base == nullptr || base->total == 0)
    return ctx.fail(d.capacity_where, d.field + ".capacity",
                    "a percentage needs a machine node to take it of; node " +
                        std::to_string(d.has_backing ? d.node.backing_node : d.node.id) +
                        " has no known memory size");
  d.node.capacity = round_capacity(static_cast<double>(base->total) * d.capacity_percent / 100.0);
  return {};
}

std::string node_list(const Topology &machine) {
  std::string s;
  for (const Node &n : machine.nodes) s += (s.empty() ? "" : ", ") + std::to_string(n.id);
  return s.empty() ? "none" : s;
}

}  // namespace

Result<Topology> parse_topology_toml(const std::string &text, const std::string &origin,
                                     const Topology &machine) {
  Ctx ctx{origin};
  const bool is_preset = origin.rfind("preset ", 0) == 0;
  const tier_source source = is_preset ? TIER_SOURCE_PRESET : TIER_SOURCE_FILE;

  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error &e) {
    return ctx.fail(e.source(), "", "TOML syntax: " + std::string(e.description()));
  }

  std::optional<bool> emulated_flag;
  bool scale_to_fit = false;
  const toml::array *node_array = nullptr;
  for (auto &&[key, value] : root) {
    std::string k(key.str());
    if (k == "emulated" || k == "scale_to_fit") {
      if (!value.is_boolean())
        return ctx.fail(value.source(), k, "expected true or false, got " + describe(value));
      if (k == "emulated")
        emulated_flag = *value.value<bool>();
      else
        scale_to_fit = *value.value<bool>();
    } else if (k == "description") {
      if (!value.is_string())
        return ctx.fail(value.source(), k, "expected a string, got " + describe(value));
    } else if (k == "node") {
      node_array = value.as_array();
      if (node_array == nullptr || !node_array->is_array_of_tables())
        return ctx.fail(value.source(), k, "expected [[node]] tables");
    } else {
      return ctx.fail(key.source(), k,
                      "unknown key (known: emulated, scale_to_fit, description, [[node]])");
    }
  }
  if (node_array == nullptr || node_array->empty())
    return ctx.fail(root.source(), "node", "no [[node]] declared");

  std::vector<Declared> decl;
  for (size_t i = 0; i < node_array->size(); ++i) {
    auto d = read_node(ctx, *(*node_array)[i].as_table(), i, source);
    if (!d) return std::move(d).error();
    decl.push_back(std::move(*d));
  }

  std::map<int, size_t> seen;
  for (size_t i = 0; i < decl.size(); ++i) {
    auto [it, fresh] = seen.emplace(decl[i].node.id, i);
    if (!fresh)
      return ctx.fail(decl[i].id_where, decl[i].field + ".id",
                      "duplicate id " + std::to_string(decl[i].node.id) + " (also node[" +
                          std::to_string(it->second) + "])");
  }

  const bool virtual_nodes = decl.front().has_backing;
  for (const Declared &d : decl)
    if (d.has_backing != virtual_nodes)
      return ctx.fail(d.where, d.field,
                      "either every node has `backing` (virtual nodes) or none has (overrides "
                      "of real nodes); this file mixes them");

  Topology t;
  if (virtual_nodes) {
    t.source = origin.rfind("preset ", 0) == 0 ? origin : "file " + origin;
    t.emulated = emulated_flag.value_or(true);
    for (Declared &d : decl) {
      const Node *base = machine.find(d.node.backing_node);
      if (base == nullptr)
        return ctx.fail(d.backing_where, d.field + ".backing",
                        "node " + std::to_string(d.node.backing_node) +
                            " does not exist on this machine (nodes: " + node_list(machine) + ")");
      if (!d.has_kind)
        return ctx.fail(d.where, d.field + ".kind", "missing (a virtual node needs a kind)");
      if (!d.has_capacity)
        return ctx.fail(d.where, d.field + ".capacity",
                        "missing (a virtual node needs a capacity)");
      if (auto st = resolve_percent(ctx, d, base); !st) return std::move(st).error();
      Node &n = d.node;
      n.emulated = t.emulated;
      n.kind_source = source;
      n.kind_reason = std::string("declared by ") + (is_preset ? origin : "file " + origin);
      if (n.name.empty()) n.name = std::string(kind_name(n.kind)) + std::to_string(n.id);
      // A virtual DRAM node runs where its memory is; HBM and CXL nodes are CPU-less.
      if (n.kind == TIER_KIND_DRAM) n.cpus = base->cpus;
      apply_kind_defaults(n);
      t.nodes.push_back(n);
    }
    if (scale_to_fit) {
      // One factor per backing node keeps the declared ratios between its virtual nodes.
      std::map<int, double> sum;
      for (const Node &n : t.nodes) sum[n.backing_node] += static_cast<double>(n.capacity);
      for (Node &n : t.nodes) {
        double limit = kScaleShare * static_cast<double>(machine.find(n.backing_node)->total);
        double s = sum[n.backing_node];
        if (limit > 0 && s > limit)
          n.capacity = round_capacity(static_cast<double>(n.capacity) * limit / s);
      }
    }
  } else {
    t = machine;
    t.source = "file " + origin + " over " + machine.source;
    t.emulated = emulated_flag.value_or(false);
    for (Declared &d : decl) {
      Node *n = t.find(d.node.id);
      if (n == nullptr)
        return ctx.fail(d.id_where, d.field + ".id",
                        "no node " + std::to_string(d.node.id) + " on this machine (nodes: " +
                            node_list(machine) + "); to declare a virtual node, give `backing`");
      if (auto st = resolve_percent(ctx, d, n); !st) return std::move(st).error();
      if (d.has_kind) {
        n->kind = d.node.kind;
        n->kind_source = source;
        n->kind_reason = "set by file " + origin;
      }
      if (!d.node.name.empty()) n->name = d.node.name;
      if (d.has_capacity) n->capacity = d.node.capacity;
      for (auto [from, to] : {std::pair{&d.node.read_latency_ns, &n->read_latency_ns},
                              {&d.node.write_latency_ns, &n->write_latency_ns},
                              {&d.node.read_bandwidth_mbps, &n->read_bandwidth_mbps},
                              {&d.node.write_bandwidth_mbps, &n->write_bandwidth_mbps}})
        if (from->known()) *to = *from;
      n->emulated = t.emulated;
    }
    // New figures may change what discovery concluded: classify again what no file fixed.
    for (Node &n : t.nodes)
      if (n.kind_source != source) {
        n.kind = TIER_KIND_UNKNOWN;
        n.kind_source = TIER_SOURCE_NONE;
        n.kind_reason.clear();
      }
  }

  classify(t);
  rank_tiers(t);
  if (auto st = validate(t, &machine); !st) return std::move(st).error().context(origin);
  return t;
}

Result<Topology> load_topology_file(const std::string &path, const Topology &machine) {
  auto text = read_text_file(path, TIER_ETOPOLOGY, "topology file");
  if (!text) return std::move(text).error();
  return parse_topology_toml(*text, path, machine);
}

}  // namespace tier
