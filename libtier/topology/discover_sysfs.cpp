// discover_sysfs.cpp - NUMA discovery from /sys/devices/system/node, the fallback when hwloc
// fails, and the source of kernel hints (memory tiers, dax kmem) for both paths.
//
// Files read (under a root prefix so tests can use recorded trees):
//   devices/system/node/{online, nodeN/{meminfo,cpulist,distance}}
//   devices/system/node/nodeN/access0/initiators/{read,write}_{latency,bandwidth}
//       (HMAT: latency in ns, bandwidth in MB/s per Documentation/ABI/stable/
//       sysfs-devices-node; access0 is the node's best-performing initiator class)
//   devices/virtual/memory_tiering/memory_tierN/nodelist
//   bus/dax/drivers/kmem/daxX.Y -> bus/dax/devices/daxX.Y/target_node
// Stateless; thread-safe.
#include <algorithm>
#include <sstream>
#include <string>

#include "topology/discover_internal.hpp"
#include "topology/sysfs_read.hpp"
#include "topology/topology.hpp"

namespace tier {

namespace {

const char *kNodeDir = "sys/devices/system/node";

std::string node_path(const std::string &root, int id, const std::string &file) {
  return sysfs::join(root, std::string(kNodeDir) + "/node" + std::to_string(id) + "/" + file);
}

// Reads one HMAT figure; unknown (0) when the file is missing or zero.
void read_figure(const std::string &path, Figure &fig) {
  if (fig.known()) return;
  auto v = sysfs::read_u64(path);
  if (v && *v > 0) fig = Figure{static_cast<double>(*v), TIER_SOURCE_SYSFS};
}

Result<std::vector<int>> online_nodes(const std::string &root) {
  const std::string dir = sysfs::join(root, kNodeDir);
  auto online = sysfs::read_text(dir + "/online");
  if (online) return sysfs::parse_list(*online);
  // Without `online` (very old kernels, partial trees), every nodeN directory counts.
  std::vector<int> ids;
  for (const std::string &name : sysfs::list_dir(dir)) {
    if (name.size() > 4 && name.compare(0, 4, "node") == 0 &&
        name.find_first_not_of("0123456789", 4) == std::string::npos)
      ids.push_back(std::stoi(name.substr(4)));
  }
  if (ids.empty())
    return make_error(TIER_ETOPOLOGY, "no NUMA nodes under " + dir + " (is sysfs mounted?)");
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

namespace detail {

void fill_sysfs_figures(Topology &t, const std::string &root) {
  for (Node &n : t.nodes) {
    const std::string init = "access0/initiators/";
    read_figure(node_path(root, n.id, init + "read_latency"), n.read_latency_ns);
    read_figure(node_path(root, n.id, init + "write_latency"), n.write_latency_ns);
    read_figure(node_path(root, n.id, init + "read_bandwidth"), n.read_bandwidth_mbps);
    read_figure(node_path(root, n.id, init + "write_bandwidth"), n.write_bandwidth_mbps);
    if (n.free == 0)
      if (auto text = sysfs::read_text(node_path(root, n.id, "meminfo")))
        if (auto mi = sysfs::parse_node_meminfo(*text)) n.free = mi->free;
  }
}

void apply_sysfs_hints(Topology &t, const std::string &root) {
  const std::string tiers = sysfs::join(root, "sys/devices/virtual/memory_tiering");
  for (const std::string &name : sysfs::list_dir(tiers)) {
    if (name.compare(0, 11, "memory_tier") != 0) continue;
    int level = 0;
    try {
      level = std::stoi(name.substr(11));
    } catch (...) {
      continue;
    }
    auto text = sysfs::read_text(tiers + "/" + name + "/nodelist");
    if (!text) continue;
    auto ids = sysfs::parse_list(*text);
    if (!ids) continue;
    for (int id : *ids)
      if (Node *n = t.find(id)) n->memory_tier = level;
  }
  const std::string kmem = sysfs::join(root, "sys/bus/dax/drivers/kmem");
  for (const std::string &dev : sysfs::list_dir(kmem)) {
    if (dev.compare(0, 3, "dax") != 0) continue;
    auto target =
        sysfs::read_text(sysfs::join(root, "sys/bus/dax/devices/" + dev + "/target_node"));
    if (!target) continue;
    try {
      if (Node *n = t.find(std::stoi(*target))) n->dax_kmem = true;
    } catch (...) {
    }
  }
}

}  // namespace detail

Result<Topology> discover_sysfs(const std::string &root) {
  auto ids = online_nodes(root);
  if (!ids) return std::move(ids).error();
  Topology t;
  t.source = "sysfs";
  for (int id : *ids) {
    Node n;
    n.id = id;
    n.backing_node = id;
    n.name = "node" + std::to_string(id);
    auto meminfo_text = sysfs::read_text(node_path(root, id, "meminfo"));
    if (!meminfo_text) return std::move(meminfo_text).error();
    auto mi = sysfs::parse_node_meminfo(*meminfo_text);
    if (!mi) return std::move(mi).error().context(node_path(root, id, "meminfo"));
    n.total = n.capacity = mi->total;
    n.free = mi->free;
    if (auto cpulist = sysfs::read_text(node_path(root, id, "cpulist"))) {
      auto cpus = sysfs::parse_list(*cpulist);
      if (!cpus) return std::move(cpus).error().context(node_path(root, id, "cpulist"));
      n.cpus = std::move(*cpus);
    }
    t.nodes.push_back(std::move(n));
  }

  // The distance rows list every online node in order, so row i column j is nodes[j].
  std::vector<std::vector<int>> dist;
  for (const Node &n : t.nodes) {
    auto text = sysfs::read_text(node_path(root, n.id, "distance"));
    if (!text) break;
    std::vector<int> row;
    std::istringstream in(*text);
    int d;
    while (in >> d) row.push_back(d);
    if (row.size() != t.nodes.size()) break;
    dist.push_back(std::move(row));
  }
  if (dist.size() == t.nodes.size()) t.distance = std::move(dist);

  detail::fill_sysfs_figures(t, root);
  detail::apply_sysfs_hints(t, root);
  return t;
}

}  // namespace tier
