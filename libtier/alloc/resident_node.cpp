// resident_node.cpp - see resident_node.hpp.
#include "alloc/resident_node.hpp"

#include "prim/os.hpp"

namespace tier::alloc {

int resident_node(const tier_runtime *rt, const void *ptr) {
  if (!rt || !ptr) return -1;
  if (rt->topology.emulated) {
    const PageMap *pm = PageMap::existing();
    if (!pm) return -1;
    const Granule g = pm->get(ptr);
    if (g.runtime != rt->generation || g.node_slot >= rt->nnodes) return -1;
    return rt->nodes[g.node_slot].node.id;
  }
  void *page = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(ptr) & ~(prim::kPageSize - 1));
  int status = -1;
  if (!prim::query_nodes(&page, 1, &status)) return -1;
  return status >= 0 ? status : -1;
}

int tier_of_node(const tier_runtime *rt, int id) {
  if (!rt || id < 0) return -1;
  const int slot = rt->slot_of(id);
  return slot < 0 ? -1 : rt->nodes[slot].node.tier;
}

}  // namespace tier::alloc
