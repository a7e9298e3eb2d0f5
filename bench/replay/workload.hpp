// workload.hpp - what the replay feeds the engine: a sequence of epochs, each a list of
// references to equally sized objects (KV blocks, or expert weights), with dense object ids.
//
// A Mooncake trace becomes one epoch per `requests_per_epoch` requests, each request
// referencing its hash_ids in order (the prefill reads every block of its prompt; the blocks
// new to the cache are written by that same prefill, which is their first reference).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace.hpp"

namespace tier::replay {

// The readers of the reference data (workloads/: traces, popularity files, routing draws) are
// shared with tier-serve-demo; the replay uses them as its own.
using namespace tier::workloads;

struct Workload {
  std::string name;
  std::string kind;                 // "kv" or "moe"
  uint64_t object_bytes = 0;        // every object has this size
  uint32_t objects = 0;             // ids are 0 .. objects-1, in order of first reference
  std::vector<uint32_t> refs;       // all references, epoch after epoch
  std::vector<uint64_t> epoch_end;  // refs[epoch_end[e-1] .. epoch_end[e]) is epoch e

  size_t epochs() const { return epoch_end.size(); }
  uint64_t bytes_per_token = 0;  // kv: the figure object_bytes was derived from
};

// Llama-3-8B in fp16: 32 layers x 8 KV heads x 128 dims x 2 (K and V) x 2 bytes = 128 KiB per
// token, so a 512-token block is 64 MiB.
inline constexpr uint64_t kDefaultBytesPerToken = 128 * 1024;

Workload kv_workload(const Trace &trace, uint64_t bytes_per_token = kDefaultBytesPerToken,
                     uint32_t requests_per_epoch = 1);

}  // namespace tier::replay
