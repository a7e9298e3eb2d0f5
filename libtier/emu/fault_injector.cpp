// fault_injector.cpp - seeded faults over the OS primitive seam (see fault_injector.hpp).
//
// The wrapper table is static (the seam requires tables to outlive their installation: a
// thread may still be inside a hook after uninstall). Configuration is written only under the
// mutex while no injector is installed, and published to the hooks by prim::set_ops's release
// store, so the hooks read it without locks.
#include "emu/fault_injector.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "prim/os.hpp"

namespace tier::emu {

namespace {

constexpr int kWords = prim::kMaxNodes / 64;

struct State {
  FaultConfig config;
  std::array<uint64_t, kWords> offline{};  // bit per node
  bool any_offline = false;
  const prim::Ops *below = nullptr;  // the table we wrap
  std::atomic<uint64_t> calls{0};    // decision counter
  std::atomic<uint64_t> move_calls{0}, pages_busy{0}, pages_nomem{0}, moves_to_offline{0},
      mbind_failed{0}, maps_failed{0};
};

State g_state;
std::mutex g_mutex;
bool g_installed = false;  // guarded by g_mutex
prim::Ops g_table;

// splitmix64: a tiny, well-mixed hash; decisions are hash(seed, call, index) / 2^64.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double draw(uint64_t call, uint64_t index, uint64_t salt) {
  const uint64_t h = mix(mix(mix(g_state.config.seed ^ salt) ^ call) ^ index);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

bool offline(int node) {
  return node >= 0 && node < prim::kMaxNodes &&
         (g_state.offline[static_cast<size_t>(node) / 64] >> (node % 64) & 1u);
}

int hook_map(void *hint, size_t len, int prot, int flags, void **out) {
  const uint64_t call = g_state.calls.fetch_add(1, std::memory_order_relaxed);
  if (g_state.config.map_fail > 0 && draw(call, 0, 1) < g_state.config.map_fail) {
    g_state.maps_failed.fetch_add(1, std::memory_order_relaxed);
    return ENOMEM;
  }
  return g_state.below->map(hint, len, prot, flags, out);
}

int hook_mbind(void *addr, size_t len, int mode, const unsigned long *nodemask,
               unsigned long maxnode, unsigned flags) {
  const uint64_t call = g_state.calls.fetch_add(1, std::memory_order_relaxed);
  if (g_state.config.mbind_fail > 0 && draw(call, 0, 2) < g_state.config.mbind_fail) {
    g_state.mbind_failed.fetch_add(1, std::memory_order_relaxed);
    return g_state.config.mbind_errno;
  }
  if (!g_state.any_offline || nodemask == nullptr || maxnode == 0)
    return g_state.below->mbind(addr, len, mode, nodemask, maxnode, flags);
  // Linux intersects the mask with the nodes that have memory; an empty result is EINVAL.
  constexpr size_t kBits = 8 * sizeof(unsigned long);
  std::array<unsigned long, prim::kMaxNodes / kBits> mask{};
  bool any = false;
  const size_t bits = std::min<size_t>(maxnode, prim::kMaxNodes);
  for (size_t n = 0; n < bits; ++n)
    if ((nodemask[n / kBits] >> (n % kBits) & 1ul) && !offline(static_cast<int>(n))) {
      mask[n / kBits] |= 1ul << (n % kBits);
      any = true;
    }
  if (!any) return EINVAL;
  return g_state.below->mbind(addr, len, mode, mask.data(), maxnode, flags);
}

int hook_move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status,
                    int flags, long *not_moved) {
  if (nodes == nullptr)  // a query: nothing to fault
    return g_state.below->move_pages(pid, count, pages, nodes, status, flags, not_moved);
  const uint64_t call = g_state.calls.fetch_add(1, std::memory_order_relaxed);
  g_state.move_calls.fetch_add(1, std::memory_order_relaxed);
  for (unsigned long i = 0; i < count; ++i)
    if (offline(nodes[i])) {
      g_state.moves_to_offline.fetch_add(1, std::memory_order_relaxed);
      return ENODEV;  // the kernel refuses the whole call for a node without memory
    }
  const FaultConfig &c = g_state.config;
  // Faulted pages keep their place and get an error status; the rest go to the real call.
  std::vector<void *> pass_pages;
  std::vector<int> pass_nodes, pass_status;
  std::vector<unsigned long> pass_index;
  pass_pages.reserve(count);
  pass_nodes.reserve(count);
  pass_index.reserve(count);
  long injected = 0;
  for (unsigned long i = 0; i < count; ++i) {
    const double d = draw(call, i, 3);
    if (d < c.move_busy) {
      status[i] = -EBUSY;
      ++injected;
      g_state.pages_busy.fetch_add(1, std::memory_order_relaxed);
    } else if (d < c.move_busy + c.move_nomem) {
      status[i] = -ENOMEM;
      ++injected;
      g_state.pages_nomem.fetch_add(1, std::memory_order_relaxed);
    } else {
      pass_pages.push_back(pages[i]);
      pass_nodes.push_back(nodes[i]);
      pass_index.push_back(i);
    }
  }
  long below_not_moved = 0;
  if (!pass_pages.empty()) {
    pass_status.assign(pass_pages.size(), 0);
    if (int err =
            g_state.below->move_pages(pid, pass_pages.size(), pass_pages.data(), pass_nodes.data(),
                                      pass_status.data(), flags, &below_not_moved))
      return err;
    for (size_t k = 0; k < pass_index.size(); ++k) status[pass_index[k]] = pass_status[k];
  }
  if (not_moved) *not_moved = below_not_moved + injected;
  return 0;
}

Result<double> parse_probability(const std::string &key, const std::string &value) {
  char *end = nullptr;
  const double p = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(p >= 0 && p <= 1))
    return make_error(TIER_ECONFIG, "fault spec: " + key + "=" + value +
                                        ": expected a probability between 0 and 1");
  return p;
}

Status check(const FaultConfig &c) {
  for (double p : {c.move_busy, c.move_nomem, c.mbind_fail, c.map_fail})
    if (!(p >= 0 && p <= 1))
      return make_error(TIER_EINVAL, "fault injector: probabilities must be in [0, 1]");
  if (c.move_busy + c.move_nomem > 1)
    return make_error(TIER_EINVAL, "fault injector: move_busy + move_nomem exceeds 1");
  if (c.mbind_errno <= 0)
    return make_error(TIER_EINVAL, "fault injector: mbind_errno must be a positive errno");
  for (int n : c.offline_nodes)
    if (n < 0 || n >= prim::kMaxNodes)
      return make_error(TIER_EINVAL, "fault injector: offline node " + std::to_string(n) +
                                         " is out of range 0.." +
                                         std::to_string(prim::kMaxNodes - 1));
  return {};
}

}  // namespace

Result<FaultConfig> parse_fault_spec(const std::string &spec) {
  FaultConfig c;
  std::istringstream in(spec);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos)
      return make_error(TIER_ECONFIG, "fault spec: '" + item + "': expected key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "seed") {
      char *end = nullptr;
      c.seed = std::strtoull(value.c_str(), &end, 0);
      if (value.empty() || *end != '\0')
        return make_error(TIER_ECONFIG, "fault spec: seed=" + value + ": expected an integer");
    } else if (key == "move_busy" || key == "move_nomem" || key == "mbind_fail" ||
               key == "map_fail") {
      auto p = parse_probability(key, value);
      if (!p) return std::move(p).error();
      (key == "move_busy"    ? c.move_busy
       : key == "move_nomem" ? c.move_nomem
       : key == "mbind_fail" ? c.mbind_fail
                             : c.map_fail) = *p;
    } else if (key == "mbind_errno") {
      static const std::pair<const char *, int> kNames[] = {{"ENOMEM", ENOMEM}, {"EINVAL", EINVAL},
                                                            {"EIO", EIO},       {"EFAULT", EFAULT},
                                                            {"EPERM", EPERM},   {"EBUSY", EBUSY}};
      c.mbind_errno = 0;
      for (auto &[name, v] : kNames)
        if (value == name) c.mbind_errno = v;
      if (c.mbind_errno == 0)
        return make_error(TIER_ECONFIG, "fault spec: mbind_errno=" + value +
                                            ": expected ENOMEM, EINVAL, EIO, EFAULT, EPERM "
                                            "or EBUSY");
    } else if (key == "offline") {
      std::istringstream nodes(value);
      for (std::string n; std::getline(nodes, n, '+');) {
        char *end = nullptr;
        const long v = std::strtol(n.c_str(), &end, 10);
        if (n.empty() || *end != '\0' || v < 0 || v >= prim::kMaxNodes)
          return make_error(TIER_ECONFIG,
                            "fault spec: offline=" + value + ": '" + n + "' is not a node number");
        c.offline_nodes.push_back(static_cast<int>(v));
      }
    } else {
      return make_error(TIER_ECONFIG, "fault spec: unknown key '" + key +
                                          "' (known: seed, move_busy, move_nomem, mbind_fail, "
                                          "mbind_errno, map_fail, offline)");
    }
  }
  if (auto st = check(c); !st) return Error{TIER_ECONFIG, 0, st.error().message};
  return c;
}

Status FaultInjector::install(const FaultConfig &config) {
  if (auto st = check(config); !st) return st;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_installed)
    return make_error(TIER_EBUSY, "fault injector: already installed (one at a time)");
  g_state.config = config;
  g_state.offline.fill(0);
  for (int n : config.offline_nodes)
    g_state.offline[static_cast<size_t>(n) / 64] |= 1ull << (n % 64);
  g_state.any_offline = !config.offline_nodes.empty();
  g_state.calls = 0;
  for (auto *c : {&g_state.move_calls, &g_state.pages_busy, &g_state.pages_nomem,
                  &g_state.moves_to_offline, &g_state.mbind_failed, &g_state.maps_failed})
    c->store(0, std::memory_order_relaxed);
  const prim::Ops &current = prim::ops();
  g_state.below = &current;
  g_table = current;
  g_table.name = "fault-injector";
  g_table.map = hook_map;
  g_table.mbind = hook_mbind;
  g_table.move_pages = hook_move_pages;
  auto prev = prim::set_ops(&g_table);
  if (!prev) return std::move(prev).error();
  g_installed = true;
  return {};
}

void FaultInjector::uninstall() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_installed) return;
  // Restore what we wrapped; linux_ops() is what set_ops(nullptr) would give anyway.
  (void)prim::set_ops(g_state.below == &prim::linux_ops() ? nullptr : g_state.below);
  g_installed = false;
}

bool FaultInjector::installed() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_installed;
}

FaultStats FaultInjector::stats() {
  FaultStats s;
  s.move_calls = g_state.move_calls.load(std::memory_order_relaxed);
  s.pages_busy = g_state.pages_busy.load(std::memory_order_relaxed);
  s.pages_nomem = g_state.pages_nomem.load(std::memory_order_relaxed);
  s.moves_to_offline = g_state.moves_to_offline.load(std::memory_order_relaxed);
  s.mbind_failed = g_state.mbind_failed.load(std::memory_order_relaxed);
  s.maps_failed = g_state.maps_failed.load(std::memory_order_relaxed);
  return s;
}

Status FaultInjector::install_from_environment() {
  const char *spec = std::getenv("TIER_FAULTS");
  if (spec == nullptr || *spec == '\0') return {};
  auto c = parse_fault_spec(spec);
  if (!c) return std::move(c).error().context("TIER_FAULTS");
  return install(*c);
}

}  // namespace tier::emu
