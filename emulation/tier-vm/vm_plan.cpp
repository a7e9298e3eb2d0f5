// vm_plan.cpp - topology -> QEMU NUMA/HMAT layout (rules in vm_plan.hpp). Pure; thread-safe.
#include "vm_plan.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace tier::vm {

namespace {

constexpr uint64_t kStepMib = 2;   // node sizes in whole 2 MiB steps (huge page aligned)
constexpr int kRemoteSocket = 21;  // SLIT value of the other socket on two-socket servers

bool is_cpu_node(const Node &n) {
  return n.kind == TIER_KIND_DRAM || n.kind == TIER_KIND_UNKNOWN;
}

// A node's figure for one direction: its own, unless that is only the kind's default and the
// other direction was declared or measured (a file giving read figures alone means "writes are
// like reads" more than "writes are like a generic node of this kind").
double or_else(const Figure &f, const Figure &g) {
  const bool f_real = f.known() && f.source != TIER_SOURCE_DEFAULT;
  const bool g_real = g.known() && g.source != TIER_SOURCE_DEFAULT;
  if (f_real || (!g_real && f.known())) return f.value;
  return g.value;
}

std::string mib(uint64_t m) {
  return std::to_string(m) + "M";
}

// A cpus= range list for QEMU ("0-1" or several cpus= entries for gaps).
std::string cpu_ranges(const std::vector<int> &cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    s += ",cpus=" + std::to_string(cpus[i]);
    if (j > i) s += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return s;
}

}  // namespace

Result<VmPlan> plan_vm(const Topology &topology, const PlanOptions &options) {
  if (topology.nodes.empty())
    return make_error(TIER_ETOPOLOGY, "tier-vm: the topology has no nodes");
  if (topology.nodes.size() > 64)
    return make_error(TIER_ETOPOLOGY,
                      "tier-vm: QEMU supports at most 64 NUMA nodes, the topology has " +
                          std::to_string(topology.nodes.size()));
  std::vector<const Node *> order;
  for (const Node &n : topology.nodes) order.push_back(&n);
  std::sort(order.begin(), order.end(), [](const Node *a, const Node *b) { return a->id < b->id; });

  VmPlan plan;
  std::vector<int> cpu_nodes;
  for (size_t i = 0; i < order.size(); ++i) {
    const Node &n = *order[i];
    VmNode v;
    v.vm_id = static_cast<int>(i);
    v.topo_id = n.id;
    v.name = n.name;
    v.kind = n.kind;
    v.capacity = n.capacity;
    v.read_latency_ns = or_else(n.read_latency_ns, n.write_latency_ns);
    v.write_latency_ns = or_else(n.write_latency_ns, n.read_latency_ns);
    v.read_bandwidth_mbps = or_else(n.read_bandwidth_mbps, n.write_bandwidth_mbps);
    v.write_bandwidth_mbps = or_else(n.write_bandwidth_mbps, n.read_bandwidth_mbps);
    if (!(v.read_latency_ns > 0) || !(v.read_bandwidth_mbps > 0))
      return make_error(TIER_ETOPOLOGY, "tier-vm: node " + std::to_string(n.id) + " (" + n.name +
                                            ") has no latency or bandwidth figure for HMAT");
    if (is_cpu_node(n)) cpu_nodes.push_back(v.vm_id);
    plan.nodes.push_back(v);
  }
  if (cpu_nodes.empty())
    return make_error(TIER_ETOPOLOGY, "tier-vm: the topology has no DRAM node to put the vCPUs on");
  if (options.cpus < static_cast<int>(cpu_nodes.size()))
    return make_error(TIER_EINVAL, "tier-vm: " + std::to_string(cpu_nodes.size()) +
                                       " DRAM nodes need at least as many vCPUs (--cpus " +
                                       std::to_string(cpu_nodes.size()) + ")");
  plan.cpus = options.cpus;
  for (int c = 0; c < options.cpus; ++c)
    plan.nodes[static_cast<size_t>(cpu_nodes[static_cast<size_t>(c) % cpu_nodes.size()])]
        .cpus.push_back(c);

  // Distances: the OS's, when the topology carries a full matrix; otherwise derived from the
  // latency ratio to the initiator's own DRAM (HMAT-style), 21 between sockets.
  const size_t n = plan.nodes.size();
  std::vector<int> pos_of(n, -1);  // vm id -> position in topology.nodes
  for (size_t p = 0; p < topology.nodes.size(); ++p)
    for (size_t v = 0; v < n; ++v)
      if (plan.nodes[v].topo_id == topology.nodes[p].id) pos_of[v] = static_cast<int>(p);
  const bool have_matrix =
      topology.distance.size() == n &&
      std::all_of(topology.distance.begin(), topology.distance.end(),
                  [n](const std::vector<int> &row) { return row.size() == n; });

  // A CPU-less node's initiator: the CPU node nearest by distance (first on ties).
  auto derived_local = [&](const VmNode &t, const VmNode &home) {
    const double ratio = t.read_latency_ns / home.read_latency_ns;
    return std::clamp(static_cast<int>(std::lround(10.0 * ratio)), 11, 254);
  };
  for (auto &v : plan.nodes) {
    if (!v.cpus.empty()) {
      v.initiator = v.vm_id;
      continue;
    }
    int best = cpu_nodes.front();
    if (have_matrix) {
      for (int c : cpu_nodes)
        if (topology.distance[pos_of[v.vm_id]][pos_of[c]] <
            topology.distance[pos_of[v.vm_id]][pos_of[best]])
          best = c;
    }
    v.initiator = best;
  }
  plan.distance.assign(n, std::vector<int>(n, 10));
  for (size_t a = 0; a < n; ++a)
    for (size_t b = 0; b < n; ++b) {
      if (a == b) continue;
      int d;
      if (have_matrix) {
        d = topology.distance[pos_of[a]][pos_of[b]];
      } else {
        const VmNode &na = plan.nodes[a], &nb = plan.nodes[b];
        // Distance between a CPU-less node and its home is the latency ratio; anything farther
        // crosses the socket link once more.
        auto to_home = [&](const VmNode &x) {
          return x.cpus.empty() ? derived_local(x, plan.nodes[static_cast<size_t>(x.initiator)])
                                : 10;
        };
        if (na.initiator == nb.initiator)
          d = std::max(to_home(na), to_home(nb));
        else
          d = std::max(to_home(na), to_home(nb)) + (kRemoteSocket - 10);
      }
      plan.distance[a][b] = std::clamp(d, 11, 254);
    }

  // HMAT from every CPU node to every node. Remote pairs scale by the distance ratio.
  for (int i : cpu_nodes)
    for (const auto &t : plan.nodes) {
      const VmNode &home = plan.nodes[static_cast<size_t>(t.initiator)];
      double factor = 1.0;
      if (i != t.initiator) {
        const double base =
            t.vm_id == home.vm_id
                ? 10.0
                : plan.distance[static_cast<size_t>(t.vm_id)][static_cast<size_t>(home.vm_id)];
        factor = plan.distance[static_cast<size_t>(i)][static_cast<size_t>(t.vm_id)] / base;
      }
      HmatEntry e;
      e.initiator = i;
      e.target = t.vm_id;
      e.read_latency_ns = static_cast<uint64_t>(std::llround(t.read_latency_ns * factor));
      e.write_latency_ns = static_cast<uint64_t>(std::llround(t.write_latency_ns * factor));
      e.read_bandwidth_mbps = std::max<uint64_t>(
          1, static_cast<uint64_t>(std::llround(t.read_bandwidth_mbps / factor)));
      e.write_bandwidth_mbps = std::max<uint64_t>(
          1, static_cast<uint64_t>(std::llround(t.write_bandwidth_mbps / factor)));
      plan.hmat.push_back(e);
    }

  // Memory: floors first, the rest by declared capacity.
  uint64_t floors = 0;
  for (const auto &v : plan.nodes)
    floors += v.cpus.empty() ? options.cpuless_node_floor_mib : options.cpu_node_floor_mib;
  plan.memory_mib = options.memory_mib ? options.memory_mib : std::max<uint64_t>(2048, floors);
  if (plan.memory_mib < floors)
    return make_error(TIER_EINVAL, "tier-vm: --memory " + std::to_string(plan.memory_mib) +
                                       " MiB is too small for " + std::to_string(n) +
                                       " nodes; they need at least " + std::to_string(floors) +
                                       " MiB");
  double total_capacity = 0;
  for (const auto &v : plan.nodes) total_capacity += static_cast<double>(v.capacity);
  const uint64_t rest = plan.memory_mib - floors;
  uint64_t given = 0;
  for (auto &v : plan.nodes) {
    uint64_t share = 0;
    if (total_capacity > 0)
      share = static_cast<uint64_t>(static_cast<double>(rest) * static_cast<double>(v.capacity) /
                                    total_capacity);
    share -= share % kStepMib;
    v.memory_mib =
        (v.cpus.empty() ? options.cpuless_node_floor_mib : options.cpu_node_floor_mib) + share;
    given += v.memory_mib;
  }
  plan.nodes[static_cast<size_t>(cpu_nodes.front())].memory_mib += plan.memory_mib - given;
  return plan;
}

std::vector<std::string> VmPlan::qemu_args() const {
  std::vector<std::string> a = {"-machine",      "hmat=on", "-m",
                                mib(memory_mib), "-smp",    std::to_string(cpus)};
  for (const auto &v : nodes) {
    const std::string id = std::to_string(v.vm_id);
    a.push_back("-object");
    a.push_back("memory-backend-ram,id=mem" + id + ",size=" + mib(v.memory_mib));
    std::string node = "node,nodeid=" + id + ",memdev=mem" + id;
    if (!v.cpus.empty())
      node += cpu_ranges(v.cpus);
    else
      node += ",initiator=" + std::to_string(v.initiator);
    a.push_back("-numa");
    a.push_back(node);
  }
  for (size_t i = 0; i < distance.size(); ++i)
    for (size_t j = 0; j < distance.size(); ++j)
      if (i != j) {
        a.push_back("-numa");
        a.push_back("dist,src=" + std::to_string(i) + ",dst=" + std::to_string(j) +
                    ",val=" + std::to_string(distance[i][j]));
      }
  for (const auto &e : hmat) {
    const std::string pair = "hmat-lb,initiator=" + std::to_string(e.initiator) +
                             ",target=" + std::to_string(e.target) + ",hierarchy=memory,";
    // QEMU takes bandwidth in bytes/s with binary suffixes and stores MiB/s units in the
    // HMAT, which Linux shows as "MB/s": "NM" makes the guest read back N.
    a.insert(
        a.end(),
        {"-numa", pair + "data-type=read-latency,latency=" + std::to_string(e.read_latency_ns)});
    a.insert(
        a.end(),
        {"-numa", pair + "data-type=write-latency,latency=" + std::to_string(e.write_latency_ns)});
    a.insert(a.end(),
             {"-numa", pair + "data-type=read-bandwidth,bandwidth=" + mib(e.read_bandwidth_mbps)});
    a.insert(
        a.end(),
        {"-numa", pair + "data-type=write-bandwidth,bandwidth=" + mib(e.write_bandwidth_mbps)});
  }
  return a;
}

std::string VmPlan::describe() const {
  std::ostringstream os;
  os << "tier-vm: " << cpus << " vCPU(s), " << memory_mib << " MiB\n";
  os << "  vm-node  topo-node  kind      name              declared     vm-memory  cpus     "
        "latency r/w ns  bandwidth r/w MB/s\n";
  for (const auto &v : nodes) {
    char line[256];
    std::string cpu = v.cpus.empty() ? "-> " + std::to_string(v.initiator) : "";
    if (!v.cpus.empty())
      for (size_t i = 0; i < v.cpus.size(); ++i) cpu += (i ? "," : "") + std::to_string(v.cpus[i]);
    std::snprintf(line, sizeof line,
                  "  %-8d %-10d %-9s %-17s %8.1f GiB %6llu MiB  %-8s %5.0f/%-5.0f     %.0f/%.0f\n",
                  v.vm_id, v.topo_id, kind_name(v.kind), v.name.c_str(),
                  static_cast<double>(v.capacity) / (1ull << 30),
                  static_cast<unsigned long long>(v.memory_mib), cpu.c_str(), v.read_latency_ns,
                  v.write_latency_ns, v.read_bandwidth_mbps, v.write_bandwidth_mbps);
    os << line;
  }
  return os.str();
}

}  // namespace tier::vm
