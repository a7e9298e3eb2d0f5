// discover_hwloc.cpp - NUMA discovery through hwloc 2.x: nodes by OS index, capacity,
// local CPUs, HBM subtype, and the bandwidth/latency memory attributes (filled by hwloc from
// ACPI HMAT). hwloc's own HWLOC_XMLFILE / HWLOC_FSROOT are honoured, so tests run on
// recorded machines.
//
// Local CPUs: hwloc gives a NUMA node the cpuset of the object it hangs below, so a CPU-less
// node (HBM, CXL) "has" its package's CPUs. The kernel's nodeN/cpulist is the truth and is
// read when a sysfs tree matches what hwloc reads; for an XML file, a node counts as having
// CPUs only when it has the lowest OS index among the nodes sharing its cpuset (kernels
// number the CPU nodes of a package before its CPU-less ones). Thread-safe: a private
// hwloc topology per call.
#include <hwloc.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "topology/discover_internal.hpp"
#include "topology/sysfs_read.hpp"
#include "topology/topology.hpp"

namespace tier {

namespace {

struct TopologyCloser {
  void operator()(hwloc_topology *t) const { hwloc_topology_destroy(t); }
};
struct BitmapFree {
  void operator()(hwloc_bitmap_s *b) const { hwloc_bitmap_free(b); }
};
using BitmapPtr = std::unique_ptr<hwloc_bitmap_s, BitmapFree>;

std::vector<int> bitmap_indexes(hwloc_const_bitmap_t set) {
  std::vector<int> out;
  if (set == nullptr) return out;
  int i;
  hwloc_bitmap_foreach_begin(i, set) out.push_back(i);
  hwloc_bitmap_foreach_end();
  return out;
}

// One memattr value for `node` seen from `initiator` (or, for CPU-less nodes without a
// usable initiator, from hwloc's best initiator). Unknown when hwloc has none.
Figure memattr(hwloc_topology_t topo, hwloc_memattr_id_t id, hwloc_obj_t node,
               hwloc_const_cpuset_t initiator) {
  hwloc_uint64_t value = 0;
  if (initiator != nullptr && !hwloc_bitmap_iszero(initiator)) {
    hwloc_location loc{};
    loc.type = HWLOC_LOCATION_TYPE_CPUSET;
    loc.location.cpuset = const_cast<hwloc_cpuset_t>(initiator);  // hwloc only reads it
    if (hwloc_memattr_get_value(topo, id, node, &loc, 0, &value) == 0 && value > 0)
      return Figure{static_cast<double>(value), TIER_SOURCE_HWLOC};
  }
  hwloc_location best{};
  if (hwloc_memattr_get_best_initiator(topo, id, node, 0, &best, &value) == 0 && value > 0)
    return Figure{static_cast<double>(value), TIER_SOURCE_HWLOC};
  return Figure{};
}

Figure first_known(Figure a, Figure b) {
  return a.known() ? a : b;
}

}  // namespace

namespace detail {

std::string hwloc_sysfs_root() {
  const char *xml = std::getenv("HWLOC_XMLFILE");
  if (xml != nullptr && *xml != '\0') return "";
  const char *fsroot = std::getenv("HWLOC_FSROOT");
  if (fsroot != nullptr && *fsroot != '\0') return fsroot;
  return "/";
}

}  // namespace detail

Result<Topology> discover_hwloc() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return os_error("hwloc_topology_init");
  std::unique_ptr<hwloc_topology, TopologyCloser> topo(raw);
  // Keep CPU-less nodes and everything the OS reports, even outside our cgroup: Tier's
  // view is the machine's memory, not only what this process may use right now.
  hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  if (hwloc_topology_load(raw) != 0) return os_error("hwloc_topology_load");

  const std::string root = detail::hwloc_sysfs_root();
  const int count = hwloc_get_nbobjs_by_type(raw, HWLOC_OBJ_NUMANODE);
  if (count <= 0) return make_error(TIER_ETOPOLOGY, "hwloc found no NUMA node");

  Topology t;
  const char *xml = std::getenv("HWLOC_XMLFILE");
  t.source = xml && *xml ? std::string("hwloc (") + xml + ")" : "hwloc";

  // For the XML heuristic: the lowest OS index per distinct cpuset.
  std::map<std::string, unsigned> first_of_cpuset;
  for (int i = 0; i < count; ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(raw, HWLOC_OBJ_NUMANODE, i);
    char *text = nullptr;
    hwloc_bitmap_asprintf(&text, obj->cpuset);
    std::string key = text ? text : "";
    std::free(text);
    auto it = first_of_cpuset.find(key);
    if (it == first_of_cpuset.end() || obj->os_index < it->second)
      first_of_cpuset[key] = obj->os_index;
  }

  std::vector<hwloc_obj_t> objs;
  for (int i = 0; i < count; ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(raw, HWLOC_OBJ_NUMANODE, i);
    objs.push_back(obj);
    Node n;
    n.id = static_cast<int>(obj->os_index);
    n.backing_node = n.id;
    n.name = "node" + std::to_string(n.id);
    n.total = n.capacity = obj->attr->numanode.local_memory;
    if (obj->subtype != nullptr) {
      std::string sub = obj->subtype;
      if (sub == "HBM" || sub == "MCDRAM") n.hbm_hint = 1;
    }

    bool from_sysfs = false;
    if (!root.empty()) {
      auto cpulist = sysfs::read_text(
          sysfs::join(root, "sys/devices/system/node/node" + std::to_string(n.id) + "/cpulist"));
      if (cpulist) {
        if (auto cpus = sysfs::parse_list(*cpulist)) {
          n.cpus = std::move(*cpus);
          from_sysfs = true;
        }
      }
    }
    if (!from_sysfs) {
      char *text = nullptr;
      hwloc_bitmap_asprintf(&text, obj->cpuset);
      std::string key = text ? text : "";
      std::free(text);
      if (first_of_cpuset[key] == obj->os_index) n.cpus = bitmap_indexes(obj->cpuset);
    }

    // Initiator: the node's own CPUs; for a CPU-less node memattr() asks hwloc for the best.
    BitmapPtr initiator(hwloc_bitmap_alloc());
    for (int cpu : n.cpus) hwloc_bitmap_set(initiator.get(), static_cast<unsigned>(cpu));
    hwloc_const_cpuset_t init = n.cpus.empty() ? nullptr : initiator.get();
    Figure lat = memattr(raw, HWLOC_MEMATTR_ID_LATENCY, obj, init);
    Figure bw = memattr(raw, HWLOC_MEMATTR_ID_BANDWIDTH, obj, init);
    n.read_latency_ns = first_known(memattr(raw, HWLOC_MEMATTR_ID_READ_LATENCY, obj, init), lat);
    n.write_latency_ns = first_known(memattr(raw, HWLOC_MEMATTR_ID_WRITE_LATENCY, obj, init), lat);
    n.read_bandwidth_mbps =
        first_known(memattr(raw, HWLOC_MEMATTR_ID_READ_BANDWIDTH, obj, init), bw);
    n.write_bandwidth_mbps =
        first_known(memattr(raw, HWLOC_MEMATTR_ID_WRITE_BANDWIDTH, obj, init), bw);
    t.nodes.push_back(std::move(n));
  }

  // Distances: the OS's NUMA latency matrix (SLIT), if hwloc has one covering every node.
  unsigned nr = 1;
  hwloc_distances_s *dist = nullptr;
  if (hwloc_distances_get_by_type(raw, HWLOC_OBJ_NUMANODE, &nr, &dist,
                                  HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) == 0 &&
      nr >= 1 && dist != nullptr) {
    if (dist->nbobjs == static_cast<unsigned>(count)) {
      std::vector<std::vector<int>> m(count, std::vector<int>(count, 0));
      bool complete = true;
      for (int a = 0; a < count && complete; ++a)
        for (int b = 0; b < count; ++b) {
          hwloc_uint64_t v = 0, back = 0;
          if (hwloc_distances_obj_pair_values(dist, objs[a], objs[b], &v, &back) != 0) {
            complete = false;
            break;
          }
          m[a][b] = static_cast<int>(v);
        }
      if (complete) t.distance = std::move(m);
    }
    hwloc_distances_release(raw, dist);
  }

  if (!root.empty()) {
    detail::fill_sysfs_figures(t, root);
    detail::apply_sysfs_hints(t, root);
  }
  return t;
}

}  // namespace tier
