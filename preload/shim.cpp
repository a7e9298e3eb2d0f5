// shim.cpp - start-up: read the rules (TIER_PRELOAD, else the file TIER_PRELOAD_FILE), create
// the runtime, intern the placements, then open the gate. A bad rule, an unreadable file or a
// runtime that cannot be created is reported once on stderr and the program runs untouched.
//
// Why a constructor and not lazily on the first large malloc: creating the runtime discovers
// the topology (hwloc, sysfs) and registers fork handlers, which must not happen inside an
// arbitrary malloc call (one made under a lock of the caller, or from a signal handler).
// Allocations made before the constructor runs go to the next allocator, which is correct.
// Thread-safety: runs once, on the loading thread, before main.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "alloc/page_map.hpp"
#include "next.hpp"
#include "shim.hpp"
#include "tier/heat.h"

namespace tier::preload {

thread_local int t_depth __attribute__((tls_model("initial-exec"))) = 0;
Shim g_shim;

namespace {

bool env_flag(const char *name) {
  const char *v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

Result<std::string> read_file(const char *path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error(std::string("TIER_PRELOAD_FILE: cannot open ") + path);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = os_error(std::string("TIER_PRELOAD_FILE: cannot read ") + path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 20)) {
      ::close(fd);
      return make_error(TIER_ECONFIG,
                        std::string("TIER_PRELOAD_FILE: ") + path + " is larger than 1 MiB");
    }
  }
  ::close(fd);
  return text;
}

void activate() {
  const char *env = std::getenv("TIER_PRELOAD");
  const char *file = std::getenv("TIER_PRELOAD_FILE");
  if ((env == nullptr || *env == '\0') && (file == nullptr || *file == '\0')) return;  // passive
  std::string text, origin;
  if (env != nullptr && *env != '\0') {
    text = env;
    origin = "TIER_PRELOAD";
    if (file != nullptr && *file != '\0')
      say("TIER_PRELOAD is set, so TIER_PRELOAD_FILE=%s is ignored", file);
  } else {
    auto t = read_file(file);
    if (!t) {
      say("%s; running without tiering", t.error().message.c_str());
      return;
    }
    text = std::move(*t);
    origin = file;
  }
  // The runtime comes first: rules that mix kinds with weights expand into its nodes.
  tier_runtime *rt = tier_default_runtime();
  if (rt == nullptr) {
    say("cannot create the Tier runtime: %s; running without tiering", tier_last_error());
    return;
  }
  auto rules = parse_rules(rt, text, origin);
  if (!rules) {
    say("%s; running without tiering", rules.error().message.c_str());
    return;
  }
  if (Status st = resolve_rules(rt, *rules, origin); !st) {
    say("%s; running without tiering", st.error().message.c_str());
    return;
  }
  if (tier_node_count(rt) > kMaxSlots) {
    say("the topology has %d nodes, more than the %d the shim accounts; running without tiering",
        tier_node_count(rt), kMaxSlots);
    return;
  }
  // Published once and never freed (see shim.hpp); the owning pointers are kept so that leak
  // checkers see them reachable.
  static std::vector<Rule> *kept = nullptr;
  static std::string *kept_origin = nullptr;
  kept = new std::vector<Rule>(std::move(*rules));
  kept_origin = new std::string(origin);
  g_shim.rules = kept->data();
  g_shim.nrules = kept->size();
  g_shim.counters = new RuleCounters[kept->size()];
  g_shim.origin = kept_origin->c_str();
  g_shim.report = env_flag("TIER_PRELOAD_REPORT");
  if (env_flag("TIER_PRELOAD_SAMPLE")) g_shim.region_flags |= TIER_REGION_SAMPLE_FAULTS;
  regions_init();
  if (env_flag("TIER_PRELOAD_AGENT") && tier_agent_start(rt, nullptr) != TIER_OK)
    say("TIER_PRELOAD_AGENT: cannot start the agent: %s", tier_last_error());
  g_shim.runtime.store(rt, std::memory_order_release);
  g_shim.gate.store(min_matching_size(*kept), std::memory_order_release);
  if (g_shim.report) std::atexit(report_at_exit);
}

}  // namespace

void initialize() {
  static std::once_flag once;
  Guard guard;  // everything allocated here belongs to the next allocator
  int saved = errno;
  std::call_once(once, [] {
    next_ready();
    try {
      activate();
    } catch (const std::exception &e) {
      say("start-up failed: %s; running without tiering", e.what());
    }
  });
  errno = saved;
}

void account_placed(tier_runtime *rt, size_t index, const void *p, size_t size) {
  RuleCounters &c = g_shim.counters[index];
  c.allocations.fetch_add(1, std::memory_order_relaxed);
  c.bytes.fetch_add(size, std::memory_order_relaxed);
  using alloc::kGranule;
  alloc::PageMap *pm = alloc::PageMap::existing();
  if (pm == nullptr) return;
  // Interleaved large blocks have a node per granule; count each granule where it went.
  auto a = reinterpret_cast<uintptr_t>(p);
  uintptr_t end = a + size;
  bool first = true;
  while (a < end) {
    uintptr_t next = (a & ~(kGranule - 1)) + kGranule;
    size_t bytes = std::min(next, end) - a;
    alloc::Granule g = pm->get(reinterpret_cast<const void *>(a));
    int slot = g.node_slot;
    if (g.kind == alloc::GranuleKind::kSmall) small_granule_placed(rt, a & ~(kGranule - 1));
    g_shim.placed_bytes[slot].fetch_add(bytes, std::memory_order_relaxed);
    if (first) g_shim.placed_blocks[slot].fetch_add(1, std::memory_order_relaxed);
    first = false;
    a = next;
  }
}

}  // namespace tier::preload

// Runs after the libraries the shim depends on (libc, libstdc++, hwloc) are initialised.
__attribute__((constructor)) static void tier_preload_init() {
  tier::preload::initialize();
}
