// source.hpp - the versioned interface of heat sources, and the process-wide API source.
//
// A heat source turns something observable into chunk access counts. Two shapes exist:
//  - push sources update the chunk counters as accesses happen (the API: tier::heat::touch
//    from the application, which knows which KV block a decode step read or which expert the
//    router picked); their collect() has nothing to drain;
//  - pull sources gather evidence elsewhere (a sampled fault tracker's ring, DAMON regions,
//    PMU samples) and credit it to the table in collect(), which the agent calls once per
//    epoch before the temperature pass.
// Only sources that work on this system are registered: today that is the API source. A
// kernel-backed source must report TIER_ENOSYS from start() where its facility is missing, so
// the agent can skip it and say why.
//
// Writing a source: fill a HeatSourceOps with version = kHeatSourceOpsVersion first, give it
// a unique name, implement create/start/collect/stop/destroy (all may be null except
// collect), and add it with register_heat_source(). Ops tables must have static storage.
//
// Thread-safety: the registry is safe from any thread. A source instance is driven by one
// thread (the agent's); a push source's hot path must be lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "heat/chunk_table.hpp"

namespace tier::heat {

// Bumped when an entry is added, removed or changes meaning.
inline constexpr uint32_t kHeatSourceOpsVersion = 1;

enum HeatSourceFlags : uint32_t {
  kSourcePush = 1u << 0,  // updates counters inline; collect() only reports
  kSourcePull = 1u << 1,  // credits its evidence in collect()
};

struct SourceStats {
  uint64_t events = 0;   // observations credited this epoch (0 when not known, as for push)
  uint64_t dropped = 0;  // observations lost (ring overflow, unmapped address)
};

struct HeatSourceOps {
  uint32_t version = kHeatSourceOpsVersion;  // first, always
  const char *name = nullptr;                // "api", "fault", "damon"
  const char *description = nullptr;
  uint32_t flags = 0;
  // Allocates the source's state (may be null when it has none).
  Result<void *> (*create)(ChunkTable &table) = nullptr;
  // Starts observing; TIER_ENOSYS when the facility is missing on this system.
  Status (*start)(void *state, ChunkTable &table) = nullptr;
  // Once per epoch, before the temperature pass.
  Status (*collect)(void *state, ChunkTable &table, uint64_t epoch, SourceStats *stats) = nullptr;
  void (*stop)(void *state) = nullptr;
  void (*destroy)(void *state) = nullptr;
};

// Registers a source (TIER_EINVAL for a wrong version, no name or no collect; TIER_EBUSY for a
// duplicate name). The built-in sources are registered from the start.
Status register_heat_source(const HeatSourceOps *ops);
const HeatSourceOps *find_heat_source(const std::string &name);
std::vector<std::string> heat_source_names();

// A running source: create + start on make(), stop + destroy on destruction.
class HeatSource {
 public:
  static Result<HeatSource> make(const std::string &name, ChunkTable &table);
  HeatSource(HeatSource &&other) noexcept;
  HeatSource &operator=(HeatSource &&other) noexcept;
  ~HeatSource();
  Status collect(uint64_t epoch, SourceStats *stats);
  const HeatSourceOps &ops() const { return *ops_; }

 private:
  HeatSource(const HeatSourceOps *ops, ChunkTable *table, void *state)
      : ops_(ops), table_(table), state_(state) {}
  void reset();
  const HeatSourceOps *ops_ = nullptr;
  ChunkTable *table_ = nullptr;
  void *state_ = nullptr;
};

// ---- The API source: the process-wide table that tier::heat::touch() credits. ------------

// The process's chunk table (nullptr until the runtime installs one). The runtime must clear
// it before destroying the table.
void set_process_table(ChunkTable *table);
ChunkTable *process_table();

namespace detail {
extern std::atomic<ChunkTable *> g_process_table;
}

// Credits accesses to [ptr, ptr+len) in the process table; untracked memory is ignored.
inline void touch(const void *ptr, size_t len, uint32_t reads, uint32_t writes) {
  if (ChunkTable *t = detail::g_process_table.load(std::memory_order_acquire))
    t->touch(ptr, len, reads, writes);
}
// Credits accesses to an object group (a KV block, an expert) in the process table.
inline void touch_group(GroupId group, uint32_t reads, uint32_t writes) {
  if (ChunkTable *t = detail::g_process_table.load(std::memory_order_acquire))
    t->touch_group(group, reads, writes);
}

}  // namespace tier::heat
