// accounting.cpp - see accounting.hpp.
#include "accounting.hpp"

#include <vector>

namespace serve_demo {

void Accounting::add(HitCount *h, int node, int tier, uint64_t bytes, bool write) {
  ++h->touches;
  h->bytes += bytes;
  if (tier == 0) {
    ++h->fast;
    h->fast_bytes += bytes;
  }
  if (node < 0) return;  // never faulted in: nothing for the model to charge
  tier_cost_access &a = per_node_[node];
  a.node = node;
  (write ? a.stream_write_bytes : a.stream_read_bytes) += bytes;
}

HitCount Accounting::all() const {
  HitCount h;
  for (const HitCount *p : {&kv_, &experts_}) {
    h.touches += p->touches;
    h.fast += p->fast;
    h.bytes += p->bytes;
    h.fast_bytes += p->fast_bytes;
  }
  return h;
}

uint64_t Accounting::bytes_read() const {
  uint64_t b = 0;
  for (const auto &[node, a] : per_node_) b += a.stream_read_bytes;
  return b;
}

uint64_t Accounting::bytes_written() const {
  uint64_t b = 0;
  for (const auto &[node, a] : per_node_) b += a.stream_write_bytes;
  return b;
}

tier_status Accounting::modelled_seconds(const tier_cost_model *model, double *where_they_were,
                                         int all_on, double *all_on_s) const {
  std::vector<tier_cost_access> accesses;
  tier_cost_access together{};
  together.node = all_on;
  for (const auto &[node, a] : per_node_) {
    accesses.push_back(a);
    together.stream_read_bytes += a.stream_read_bytes;
    together.stream_write_bytes += a.stream_write_bytes;
  }
  tier_cost_result r{};
  r.size = sizeof r;
  if (tier_status s = tier_cost_estimate(model, accesses.data(), accesses.size(), nullptr, &r))
    return s;
  *where_they_were = r.total_s;
  r = tier_cost_result{};
  r.size = sizeof r;
  if (tier_status s = tier_cost_estimate(model, &together, 1, nullptr, &r)) return s;
  *all_on_s = r.total_s;
  return TIER_OK;
}

}  // namespace serve_demo
