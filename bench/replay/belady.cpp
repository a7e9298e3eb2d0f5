// belady.cpp - the furthest-next-use replacement (see belady.hpp).
//
// Thread-safety: pure function.
#include "belady.hpp"

#include <queue>
#include <utility>
#include <vector>

namespace tier::replay {

OptimumResult belady(const Workload &w, uint64_t capacity) {
  const size_t n = w.refs.size();
  constexpr uint64_t kNever = UINT64_MAX;
  // next[i]: position of the next reference to refs[i], found in one backward pass.
  std::vector<uint64_t> next(n), upcoming(w.objects, kNever);
  for (size_t i = n; i-- > 0;) {
    next[i] = upcoming[w.refs[i]];
    upcoming[w.refs[i]] = i;
  }
  OptimumResult r;
  r.refs = n;
  // resident[o] = the next use the object is filed under, or 0 when not resident. The max-heap
  // holds (next use, object) and is cleaned lazily: an entry whose next use differs from the
  // object's current one is stale.
  std::vector<uint64_t> resident(w.objects, 0);
  std::vector<uint8_t> seen(w.objects, 0);
  std::priority_queue<std::pair<uint64_t, uint32_t>> furthest;
  uint64_t size = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t o = w.refs[i];
    const bool hit = resident[o] != 0;
    const bool first = !seen[o];
    seen[o] = 1;
    r.hits += hit;
    if (hit) --size, resident[o] = 0;
    if (next[i] == kNever || capacity == 0) continue;  // never used again: nothing to keep
    // Keep o filed under its next use; if that overfills, drop the furthest (maybe o itself).
    resident[o] = next[i] + 1;
    ++size;
    furthest.emplace(next[i] + 1, o);
    r.insertions += !hit;
    r.created_fast += first;
    while (size > capacity) {
      auto [use, victim] = furthest.top();
      furthest.pop();
      if (resident[victim] != use) continue;  // stale
      resident[victim] = 0;
      --size;
      if (victim == o && !hit) {  // bypassed: it never entered
        --r.insertions;
        r.created_fast -= first;
      } else {
        ++r.evictions;
      }
    }
  }
  return r;
}

}  // namespace tier::replay
