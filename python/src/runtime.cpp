// runtime.cpp - tier.Runtime: creation (topology), nodes and tiers, policies, where memory is,
// statistics and capacities.
#include <map>

#include "common.hpp"

namespace tierpy {

RuntimeCore::~RuntimeCore() {
  // Keeps the GIL, though destroying joins the agent thread: the agent never runs Python, and
  // a destructor must not be where a finalizing interpreter ends this thread (without_gil).
  if (owned_) tier_runtime_destroy(rt_);
}

tier_policy parse_policy(tier_runtime *rt, const std::string &text) {
  tier_policy policy;
  tier_policy_init(&policy);
  check(tier_policy_parse(rt, text.c_str(), &policy));
  return policy;
}

std::string format_policy(const tier_policy &policy) {
  char buf[512];
  const int n = tier_policy_format(&policy, buf, sizeof buf);
  if (n < 0) raise_last();
  return buf;
}

const char *kind_name(tier_node_kind kind) {
  switch (kind) {
    case TIER_KIND_DRAM:
      return "dram";
    case TIER_KIND_HBM:
      return "hbm";
    case TIER_KIND_CXL:
      return "cxl";
    case TIER_KIND_CXL_POOL:
      return "cxl-pool";
    case TIER_KIND_UNKNOWN:
      break;
  }
  return "unknown";
}

const char *source_name(tier_source source) {
  switch (source) {
    case TIER_SOURCE_HWLOC:
      return "hwloc";
    case TIER_SOURCE_SYSFS:
      return "sysfs";
    case TIER_SOURCE_FILE:
      return "file";
    case TIER_SOURCE_PRESET:
      return "preset";
    case TIER_SOURCE_DISTANCE:
      return "distance";
    case TIER_SOURCE_DEFAULT:
      return "default";
    case TIER_SOURCE_NONE:
      break;
  }
  return "none";
}

namespace {

// tier_where's answer: bytes per node, plus what has no page yet or could not be read.
struct Where {
  std::map<int, uint64_t> nodes;
  uint64_t not_resident = 0;
  uint64_t unknown = 0;
};

Where where(tier_runtime *rt, Range r) {
  tier_where_result res{};
  res.size = sizeof res;
  // One move_pages(2) query per page: long for large ranges, and it touches no Python state.
  check(without_gil([&] { return tier_where(rt, r.ptr, r.len, &res); }));
  Where w;
  for (int i = 0; i < res.nentries; ++i) w.nodes[res.entries[i].node] += res.entries[i].bytes;
  w.not_resident = res.not_resident;
  w.unknown = res.unknown;
  return w;
}

std::vector<tier_node_info> nodes(tier_runtime *rt) {
  std::vector<tier_node_info> out;
  const int n = tier_node_count(rt);
  for (int i = 0; i < n; ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    check(tier_node_at(rt, i, &info));
    out.push_back(info);
  }
  return out;
}

tier_node_info node(tier_runtime *rt, int id) {
  tier_node_info info{};
  info.size = sizeof info;
  check(tier_node_get(rt, id, &info));
  return info;
}

void bind_structs(py::module_ &m) {
  StructClass<tier_node_info>(m, "NodeInfo", "One memory node (tier_node_info).")
      .field("id", &tier_node_info::id)
      .field("name", [](const tier_node_info &v) { return std::string(v.name); })
      .field("kind", [](const tier_node_info &v) { return kind_name(v.kind); })
      .field("tier", &tier_node_info::tier)
      .field("capacity", &tier_node_info::capacity)
      .field("free", &tier_node_info::free)
      .field("used", &tier_node_info::used)
      .field("emulated", [](const tier_node_info &v) { return v.emulated != 0; })
      .field("backing_node", &tier_node_info::backing_node)
      .field("cpuless", [](const tier_node_info &v) { return v.cpuless != 0; })
      .field("read_latency_ns", &tier_node_info::read_latency_ns)
      .field("write_latency_ns", &tier_node_info::write_latency_ns)
      .field("read_bandwidth_mbps", &tier_node_info::read_bandwidth_mbps)
      .field("write_bandwidth_mbps", &tier_node_info::write_bandwidth_mbps)
      .field("latency_source",
             [](const tier_node_info &v) { return source_name(v.latency_source); })
      .field("bandwidth_source",
             [](const tier_node_info &v) { return source_name(v.bandwidth_source); })
      .field("kind_source", [](const tier_node_info &v) { return source_name(v.kind_source); })
      .field("kind_reason", [](const tier_node_info &v) { return std::string(v.kind_reason); })
      .repr_fields({"id", "name", "kind", "tier", "capacity", "used", "emulated"})
      .done();

  StructClass<tier_node_stats>(m, "NodeStats",
                               "A node's (or, with node == -1, a tier's) accounting.")
      .field("node", &tier_node_stats::node)
      .field("tier", &tier_node_stats::tier)
      .field("capacity", &tier_node_stats::capacity)
      .field("allocated", &tier_node_stats::allocated)
      .field("reserved", &tier_node_stats::reserved)
      .field("resident", &tier_node_stats::resident)
      .field("peak", &tier_node_stats::peak)
      .field("allocations", &tier_node_stats::allocations)
      .field("fallbacks", &tier_node_stats::fallbacks)
      .done();

  py::class_<Where>(m, "Where", "Where a byte range's pages are (tier_where).")
      .def_property_readonly(
          "nodes", [](const Where &w) { return w.nodes; }, "{node id: bytes resident there}")
      .def_readonly("not_resident", &Where::not_resident, "bytes never touched (no page yet)")
      .def_readonly("unknown", &Where::unknown, "bytes whose node could not be read")
      .def_property_readonly(
          "node",
          [](const Where &w) -> std::optional<int> {
            if (w.nodes.size() != 1) return std::nullopt;
            return w.nodes.begin()->first;
          },
          "the node holding every resident byte, or None when they are spread or absent")
      .def(
          "__getitem__",
          [](const Where &w, int node) {
            auto it = w.nodes.find(node);
            return it == w.nodes.end() ? uint64_t{0} : it->second;
          },
          py::arg("node"), "bytes resident on `node` (0 when none)")
      .def("__repr__", [](const Where &w) {
        return "Where(" + std::string(py::repr(py::cast(w.nodes))) +
               ", not_resident=" + std::to_string(w.not_resident) +
               ", unknown=" + std::to_string(w.unknown) + ")";
      });
}

}  // namespace

py::class_<Runtime> runtime_class(py::module_ &m) {
  return py::reinterpret_borrow<py::class_<Runtime>>(m.attr("Runtime"));
}

void init_runtime(py::module_ &m) {
  bind_structs(m);

  py::class_<Runtime>(m, "Runtime", R"doc(
A Tier runtime: a topology of memory nodes ranked into tiers, and the allocator over them.

Runtime(topology=None) honours $TIER_TOPOLOGY when topology is None, else discovers the
machine (with the `default` emulated HBM/DRAM/CXL/pool preset on a one-node machine).
topology may name a preset ("default", "xeon-max-flat", "gh200", "dram-2cxl",
"cxl-switched-pool"), a TOML topology file, or "machine" (discovery, never emulated).
Objects made from a runtime keep it alive.)doc")
      .def(py::init([](std::optional<std::string> topology, bool no_hugepage, bool shared_arena) {
             tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
             o.topology = topology ? topology->c_str() : nullptr;
             o.flags = (no_hugepage ? TIER_RUNTIME_NO_HUGEPAGE : 0u) |
                       (shared_arena ? TIER_RUNTIME_SHARED_ARENA : 0u);
             tier_runtime *rt = nullptr;
             // Discovery reads sysfs and hwloc.
             check(without_gil([&] { return tier_runtime_create(&o, &rt); }));
             return Runtime{std::make_shared<RuntimeCore>(rt, true)};
           }),
           py::arg("topology") = py::none(), py::kw_only(), py::arg("no_hugepage") = false,
           py::arg("shared_arena") = false)
      .def(
          "nodes", [](const Runtime &r) { return nodes(r.get()); },
          "Every node, in tier order (fastest first).")
      .def(
          "node", [](const Runtime &r, int id) { return node(r.get(), id); }, py::arg("id"),
          "The node with this id (TierError ENODEV when there is none).")
      .def_property_readonly("node_count",
                             [](const Runtime &r) { return tier_node_count(r.get()); })
      .def_property_readonly("tier_count",
                             [](const Runtime &r) { return tier_tier_count(r.get()); })
      .def_property_readonly("emulated",
                             [](const Runtime &r) { return tier_topology_emulated(r.get()) != 0; })
      .def_property_readonly(
          "topology_source",
          [](const Runtime &r) { return std::string(tier_topology_source(r.get())); })
      .def(
          "parse_policy",
          [](const Runtime &r, const std::string &text) {
            return format_policy(parse_policy(r.get(), text));
          },
          py::arg("policy"),
          "Checks a policy string and returns its canonical form (TierError naming the column\n"
          "of a mistake).")
      .def(
          "where",
          [](const Runtime &r, py::handle target, std::optional<int64_t> size) {
            std::optional<size_t> len;
            if (size) len = to_size(*size, "size");
            // The export is held while tier_where runs without the GIL, so that another thread
            // cannot free the memory meanwhile.
            const HeldRange held = hold_range(target, len);
            return where(r.get(), held.range);
          },
          py::arg("target"), py::arg("size") = py::none(),
          "Where the pages of a buffer (or of `size` bytes at an int address) are.")
      .def(
          "owns",
          [](const Runtime &r, py::handle target) {
            // An address alone is enough: ownership is decided by its first byte.
            const bool addr = PyLong_Check(target.ptr()) && !PyBool_Check(target.ptr());
            const Range range =
                resolve_range(target, addr ? std::optional<size_t>{1} : std::nullopt);
            return tier_owns(r.get(), range.ptr) != 0;
          },
          py::arg("target"),
          "True when the memory (a buffer, or an int address) is this runtime's.")
      .def(
          "node_stats",
          [](const Runtime &r, int node) {
            tier_node_stats s{};
            s.size = sizeof s;
            check(tier_node_stats_get(r.get(), node, &s));
            return s;
          },
          py::arg("node"))
      .def(
          "tier_stats",
          [](const Runtime &r, int tier) {
            tier_node_stats s{};
            s.size = sizeof s;
            check(tier_tier_stats_get(r.get(), tier, &s));
            return s;
          },
          py::arg("tier"), "The statistics of a tier, summed over its nodes (node == -1).")
      .def(
          "set_capacity",
          [](const Runtime &r, int node, int64_t capacity) {
            check(tier_node_set_capacity(r.get(), node, to_size(capacity, "capacity")));
          },
          py::arg("node"), py::arg("capacity"),
          "Sets a node's enforced capacity in bytes (nothing live is freed when lowered).")
      .def("__repr__", [](const Runtime &r) {
        return "Runtime(topology_source=" +
               std::string(py::repr(py::str(tier_topology_source(r.get())))) +
               ", nodes=" + std::to_string(tier_node_count(r.get())) +
               ", emulated=" + (tier_topology_emulated(r.get()) ? "True" : "False") + ")";
      });

  m.def(
      "default_runtime",
      []() {
        tier_runtime *rt = without_gil([] { return tier_default_runtime(); });
        if (rt == nullptr) raise_last();
        return Runtime{std::make_shared<RuntimeCore>(rt, false)};
      },
      "The process-wide runtime (tier_default_runtime: TIER_TOPOLOGY, else discovery).");
  m.def(
      "version", []() { return std::string(tier_version()); }, "libtier's version, e.g. 0.1.0.");
}

}  // namespace tierpy
