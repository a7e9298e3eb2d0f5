// workload.cpp - turning a trace into epochs of dense object references.
//
// Thread-safety: pure functions.
#include "workload.hpp"

#include <unordered_map>

namespace tier::replay {

Workload kv_workload(const Trace &trace, uint64_t bytes_per_token, uint32_t requests_per_epoch) {
  Workload w;
  w.name = trace.name;
  w.kind = "kv";
  w.bytes_per_token = bytes_per_token;
  w.object_bytes = bytes_per_token * kTokensPerBlock;
  if (requests_per_epoch == 0) requests_per_epoch = 1;
  std::unordered_map<uint64_t, uint32_t> dense;
  size_t in_epoch = 0;
  for (const Request &r : trace.requests) {
    for (uint64_t h : r.hash_ids) {
      auto [it, fresh] = dense.try_emplace(h, w.objects);
      if (fresh) ++w.objects;
      w.refs.push_back(it->second);
    }
    if (++in_epoch == requests_per_epoch) {
      w.epoch_end.push_back(w.refs.size());
      in_epoch = 0;
    }
  }
  if (in_epoch) w.epoch_end.push_back(w.refs.size());
  return w;
}

}  // namespace tier::replay
