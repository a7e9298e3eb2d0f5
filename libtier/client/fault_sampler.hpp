// fault_sampler.hpp - heat from sampled protection faults, for opted-in regions whose owner
// reports nothing (the kernel's NUMA balancing does the same with hint faults).
//
// Each epoch, rearm() picks up to `pages_per_epoch` random pages of the opted-in ranges and
// protects them (PROT_NONE). The first access to such a page faults; the handler shared with
// relocation (migrate/write_guard.hpp) hands the fault to this sampler's hook, which credits
// `weight` reads to the page's chunk (a relaxed add in the chunk table), makes the page
// accessible again and returns, so the access proceeds. At the next rearm, pages that did not
// fault are restored. Sampling rate is bounded: at most pages_per_epoch faults an epoch.
//
// Async-signal safety: the hook only scans a fixed array of atomics, calls ChunkTable::touch
// (atomic loads and one fetch_add), mprotect(2) and clock_gettime.
//
// Limit (why it is opt-in): a system call that reads or writes a sampled page (read(2) into
// it, write(2) from it) does not fault, it fails with EFAULT. Only register memory for
// sampling that the program does not hand to system calls.
//
// Thread-safety: one sampler per process (the hook is process-wide); add/remove/rearm are
// called under the agent's epoch lock; the hook runs on any thread at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "heat/chunk_table.hpp"
#include "heat/source.hpp"

namespace tier::client {

struct FaultSamplerOptions {
  uint32_t pages_per_epoch = 64;  // 1 .. kMaxSampled
  uint32_t weight = 1;            // reads credited per sampled fault
};

class FaultSampler {
 public:
  static constexpr uint32_t kMaxSampled = 2048;

  // TIER_EBUSY when another sampler exists in the process.
  static Result<std::unique_ptr<FaultSampler>> create(heat::ChunkTable *table,
                                                      const FaultSamplerOptions &options = {});
  ~FaultSampler();  // restores every armed page and removes the hook

  void add_range(uintptr_t addr, size_t len);
  void remove_range(uintptr_t addr, size_t len);  // restores its armed pages first
  // Restores last epoch's unfired pages, arms a fresh sample. stats->events = faults since the
  // previous rearm.
  Status rearm(heat::SourceStats *stats);
  uint64_t faults() const;

 private:
  FaultSampler(heat::ChunkTable *table, const FaultSamplerOptions &options)
      : table_(table), options_(options) {}
  void restore_bank(int bank, uintptr_t lo, uintptr_t hi);

  heat::ChunkTable *table_;
  FaultSamplerOptions options_;
  std::vector<std::pair<uintptr_t, size_t>> ranges_;
  int bank_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  uint64_t faults_seen_ = 0;
};

}  // namespace tier::client
