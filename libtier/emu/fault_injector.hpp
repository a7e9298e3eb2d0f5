// fault_injector.hpp - deterministic, seeded faults in the OS primitives (libtier/prim/os.hpp),
// for testing the movers, the allocator and the daemon against what real kernels do under
// pressure: move_pages leaving pages behind with -EBUSY or -ENOMEM, mbind failing, mmap running
// out, and nodes going offline.
//
// It wraps whatever ops table is installed (usually linux_ops()) and passes everything it does
// not fault through. Decisions come from a hash of (seed, call number, page index), so one
// seed and one sequence of calls always give the same faults; across threads the call numbers
// interleave, so multi-threaded runs are reproducible per call order only.
//
// One injector at a time (the ops seam has no user-data pointer, so its state is static).
// install/uninstall are serialised with a mutex; the hooks themselves only read the
// configuration, which does not change while installed, and count faults in relaxed atomics.
//
// Node offline/capacity faults at the runtime level (new allocations falling back) are
// tier_node_set_capacity(rt, node, 0); `offline_nodes` here is the kernel's view of the same
// event: moves to the node fail with ENODEV and mbind drops it from masks (EINVAL if nothing
// is left), as Linux does for a node without memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tier::emu {

struct FaultConfig {
  uint64_t seed = 1;
  double move_busy = 0;   // probability per page that a move reports -EBUSY and leaves it
  double move_nomem = 0;  // probability per page of -ENOMEM (target node full)
  double mbind_fail = 0;  // probability an mbind call fails with mbind_errno
  int mbind_errno = 12;   // ENOMEM
  double map_fail = 0;    // probability an mmap fails with ENOMEM
  std::vector<int> offline_nodes;
};

struct FaultStats {
  uint64_t move_calls = 0;
  uint64_t pages_busy = 0;
  uint64_t pages_nomem = 0;
  uint64_t moves_to_offline = 0;
  uint64_t mbind_failed = 0;
  uint64_t maps_failed = 0;
};

// Parses "seed=42,move_busy=0.1,move_nomem=0.01,mbind_fail=0.5,mbind_errno=EIO,map_fail=0,
// offline=2+3" (any subset, any order). Errors name the item.
Result<FaultConfig> parse_fault_spec(const std::string &spec);

class FaultInjector {
 public:
  // Wraps the current ops table. TIER_EBUSY when an injector is already installed; TIER_EINVAL
  // for probabilities outside [0, 1] or nodes out of range.
  static Status install(const FaultConfig &config);
  // Restores the table that was current at install(). No-op when not installed.
  static void uninstall();
  static bool installed();
  static FaultStats stats();
  // Installs from $TIER_FAULTS when it is set (for whole-program runs); OK when unset.
  static Status install_from_environment();
};

// RAII: installs in the constructor (check ok()), uninstalls in the destructor.
class ScopedFaults {
 public:
  explicit ScopedFaults(const FaultConfig &config) : status_(FaultInjector::install(config)) {}
  ~ScopedFaults() {
    if (status_.ok()) FaultInjector::uninstall();
  }
  ScopedFaults(const ScopedFaults &) = delete;
  ScopedFaults &operator=(const ScopedFaults &) = delete;
  const Status &status() const { return status_; }

 private:
  Status status_;
};

}  // namespace tier::emu
