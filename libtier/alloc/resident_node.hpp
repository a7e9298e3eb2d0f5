// resident_node.hpp - which node (and tier) a byte of memory is on now, for the workload APIs
// (kv/, experts/) that report placement per object.
//
// Emulated topologies: the page map is the truth (the kernel only sees the backing node), so
// this is one relaxed load. Real NUMA: one move_pages(2) query of the page. Either way it
// reflects moves done by the in-process agent or by tierd, since both move the pages
// themselves. Thread-safety: reads only; safe from any thread.
#pragma once

#include "alloc/runtime.hpp"

namespace tier::alloc {

// The node id `ptr` is on now, or -1 when unknown (not this runtime's on an emulated topology,
// or never faulted in).
int resident_node(const tier_runtime *rt, const void *ptr);
// The tier rank of node `id`, or -1 for an unknown node.
int tier_of_node(const tier_runtime *rt, int id);

}  // namespace tier::alloc
