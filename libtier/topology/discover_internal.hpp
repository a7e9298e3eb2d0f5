// discover_internal.hpp - pieces shared by the hwloc and sysfs discovery paths.
#pragma once

#include <string>

#include "topology/topology.hpp"

namespace tier::detail {

// Reads the kernel's hints for nodes already in `t` from the sysfs tree under `root`:
// memory_tiering membership (memory_tierN/nodelist) and memory onlined by dax kmem.
// Missing files are not errors (older kernels, no CXL).
void apply_sysfs_hints(Topology &t, const std::string &root);

// Fills figures that are still unknown from nodeN/access0/initiators/* (source SYSFS), and
// free memory from nodeN/meminfo when it is 0. Missing files are not errors.
void fill_sysfs_figures(Topology &t, const std::string &root);

// The sysfs root hwloc itself reads: $HWLOC_FSROOT, else "/". Empty when hwloc reads an
// XML file (HWLOC_XMLFILE): then the host's sysfs says nothing about that machine.
std::string hwloc_sysfs_root();

}  // namespace tier::detail
