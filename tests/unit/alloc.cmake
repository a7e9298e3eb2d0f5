# Allocator and runtime (libtier/alloc, include/tier/tier.hpp): placement per policy checked with
# tier_where (move_pages), capacity fallback, bad input, statistics under threads, fork, the C++
# header, and the shared library's ABI (dlopen from python3 ctypes, exported symbols).
tier_add_test(NAME unit_alloc_policies SOURCES test_alloc_policies.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_alloc_capacity SOURCES test_alloc_capacity.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_alloc_errors SOURCES test_alloc_errors.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_alloc_threads SOURCES test_alloc_threads.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_alloc_fork SOURCES test_alloc_fork.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_alloc_cpp SOURCES test_alloc_cpp.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_runtime_abi SOURCES test_runtime_abi.cpp LABELS unit
  ENV "TIER_LIBTIER_SO=$<TARGET_FILE:tier>")
add_dependencies(unit_runtime_abi tier)
tier_add_test(NAME unit_alloc_magazine SOURCES test_alloc_magazine.cpp LABELS unit LIBS tier_static)
