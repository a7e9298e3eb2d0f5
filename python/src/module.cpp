// module.cpp - the _tier extension module: one init function per concept, in dependency order
// (errors and leases first; Runtime before the files that add methods to it).
#include "common.hpp"

PYBIND11_MODULE(_tier, m) {
  m.doc() = "Tier's C ABI (include/tier/*.h) for Python; import it as `tier`.";
  tierpy::init_errors(m);
  tierpy::init_buffers(m);
  tierpy::init_runtime(m);
  tierpy::init_allocation(m);
  tierpy::init_heat(m);
  tierpy::init_kv(m);
  tierpy::init_experts(m);
}
