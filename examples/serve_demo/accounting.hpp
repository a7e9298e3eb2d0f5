// accounting.hpp - what the demo measures at every touch: whether the object was on the
// fastest tier at that moment (the hit ratio), and the bytes read and written per node, which
// the cost model (tier/emulation.h) turns into modelled memory time at the end.
//
// Bytes are the objects' full sizes: the cost model is charged as if a step streamed every
// byte of each block it attends to and each expert it selects, although the demo itself reads
// one cache line per 4 KiB page of them (see kv_engine.hpp).
// Thread-safety: single-threaded (the serving loop).
#pragma once

#include <cstdint>
#include <map>

#include "tier/emulation.h"

namespace serve_demo {

struct HitCount {
  uint64_t touches = 0, fast = 0;      // objects
  uint64_t bytes = 0, fast_bytes = 0;  // their bytes
  double ratio() const { return touches ? double(fast) / double(touches) : 0; }
  double byte_ratio() const { return bytes ? double(fast_bytes) / double(bytes) : 0; }
};

class Accounting {
 public:
  // `node` and `tier` as the object was at the touch (tier -1 = unknown: counted as a miss).
  void kv_read(int node, int tier, uint64_t bytes) { add(&kv_, node, tier, bytes, false); }
  void kv_write(int node, int tier, uint64_t bytes) { add(&kv_, node, tier, bytes, true); }
  void expert_read(int node, int tier, uint64_t bytes) { add(&experts_, node, tier, bytes, false); }

  const HitCount &kv() const { return kv_; }
  const HitCount &experts() const { return experts_; }
  HitCount all() const;
  uint64_t bytes_read() const;
  uint64_t bytes_written() const;

  // Modelled seconds of all accesses where they happened (closed loop), and of the same
  // accesses all on node `all_on` (a reference: everything on the slowest tier).
  tier_status modelled_seconds(const tier_cost_model *model, double *where_they_were, int all_on,
                               double *all_on_s) const;

 private:
  void add(HitCount *h, int node, int tier, uint64_t bytes, bool write);
  HitCount kv_, experts_;
  std::map<int, tier_cost_access> per_node_;
};

}  // namespace serve_demo
