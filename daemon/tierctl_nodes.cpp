// tierctl_nodes.cpp - `tierctl nodes` and `tierctl presets`: the topology as Tier sees it,
// with the source of every figure, as a table or JSON. Single-threaded.
#include <cstdio>
#include <string>

#include "json_writer.hpp"
#include "tierctl.hpp"
#include "topology/size_parse.hpp"
#include "topology/topology.hpp"

namespace tier::cli {

namespace {

std::string latency_text(double ns, tier_source source) {
  if (ns <= 0) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f ns (%s)", ns, source_name(source));
  return buf;
}

std::string bandwidth_text(double mbps, tier_source source) {
  if (mbps <= 0) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GB/s (%s)", mbps / 1000.0, source_name(source));
  return buf;
}

// "0-3,8": the kernel's list format, compact for the table.
std::string cpu_text(const std::vector<int> &cpus) {
  if (cpus.empty()) return "-";
  std::string s;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!s.empty()) s += ',';
    s += std::to_string(cpus[i]);
    if (j > i) s += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return s;
}

void print_json(const Topology &t) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("source").value(t.source);
  w.key("emulated").value(t.emulated);
  w.key("tiers").value(t.tier_count());
  w.key("nodes").begin_array();
  for (const Node &n : t.nodes) {
    tier_node_info info{};
    info.size = sizeof info;
    to_node_info(n, 0, &info);
    w.begin_object();
    w.key("id").value(info.id);
    w.key("name").value(info.name);
    w.key("kind").value(kind_name(info.kind));
    w.key("tier").value(info.tier);
    w.key("capacity").value(info.capacity);
    w.key("total").value(n.total);
    w.key("free").value(info.free);
    w.key("read_latency_ns").value(info.read_latency_ns);
    w.key("write_latency_ns").value(info.write_latency_ns);
    w.key("read_bandwidth_mbps").value(info.read_bandwidth_mbps);
    w.key("write_bandwidth_mbps").value(info.write_bandwidth_mbps);
    w.key("latency_source").value(source_name(info.latency_source));
    w.key("bandwidth_source").value(source_name(info.bandwidth_source));
    w.key("kind_source").value(source_name(info.kind_source));
    w.key("kind_reason").value(info.kind_reason);
    w.key("cpus").value(n.cpus);
    w.key("emulated").value(info.emulated != 0);
    w.key("backing_node").value(info.backing_node);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  std::printf("%s\n", out.c_str());
}

void print_table(const Topology &t) {
  std::printf("topology: %s%s\n", t.source.c_str(),
              t.emulated ? " (emulated: virtual nodes backed by real memory)" : "");
  std::printf("%-4s %-10s %-8s %-4s %-10s %-10s %-18s %-24s %-8s %s\n", "NODE", "NAME", "KIND",
              "TIER", "CAPACITY", "FREE", "READ LATENCY", "READ BANDWIDTH", "CPUS", "KIND FROM");
  for (const Node &n : t.nodes) {
    tier_node_info info{};
    info.size = sizeof info;
    to_node_info(n, 0, &info);
    std::string id = std::to_string(n.id) + (n.emulated ? "*" : "");
    std::printf("%-4s %-10s %-8s %-4d %-10s %-10s %-18s %-24s %-8s %s\n", id.c_str(), info.name,
                kind_name(n.kind), n.tier, format_bytes(info.capacity).c_str(),
                info.free ? format_bytes(info.free).c_str() : "-",
                latency_text(info.read_latency_ns, info.latency_source).c_str(),
                bandwidth_text(info.read_bandwidth_mbps, info.bandwidth_source).c_str(),
                cpu_text(n.cpus).c_str(), source_name(n.kind_source));
  }
  std::printf("\nwhy each kind:\n");
  for (const Node &n : t.nodes)
    std::printf("  node %d %s: %s\n", n.id, kind_name(n.kind),
                n.kind_reason.empty() ? "-" : n.kind_reason.c_str());
  if (t.emulated)
    std::printf("* emulated node; its memory lives on node %d\n", t.nodes.front().backing_node);
}

}  // namespace

int cmd_nodes(const GlobalOptions &options, const std::vector<std::string> &args) {
  if (!args.empty()) {
    std::fprintf(stderr, "tierctl nodes: unexpected argument \"%s\"\n", args.front().c_str());
    print_usage(stderr);
    return 2;
  }
  auto t = resolve_topology(options.topology.empty() ? nullptr : options.topology.c_str());
  if (!t) {
    std::fprintf(stderr, "tierctl: %s\n", t.error().message.c_str());
    return 1;
  }
  if (options.json)
    print_json(*t);
  else
    print_table(*t);
  return 0;
}

int cmd_presets(const GlobalOptions &options, const std::vector<std::string> &args) {
  if (args.size() > 1) {
    std::fprintf(stderr, "tierctl presets: at most one preset name\n");
    print_usage(stderr);
    return 2;
  }
  if (args.empty()) {
    if (options.json) {
      std::string out;
      JsonWriter w(out);
      w.begin_array();
      for (const std::string &p : preset_names()) w.value(p);
      w.end_array();
      std::printf("%s\n", out.c_str());
    } else {
      for (const std::string &p : preset_names()) std::printf("%s\n", p.c_str());
    }
    return 0;
  }
  // Printed backed by node 0: copy it to a file, adjust, and pass it with --topology.
  auto text = preset_text(args.front(), 0);
  if (!text) {
    std::fprintf(stderr, "tierctl: no preset named \"%s\"\n", args.front().c_str());
    return 1;
  }
  std::printf("%s", text->c_str());
  return 0;
}

}  // namespace tier::cli
