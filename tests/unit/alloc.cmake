# Allocator and runtime (libtier/alloc, include/tier/tier.hpp): placement per policy checked with
# tier_where (move_pages), capacity fallback, bad input, statistics under threads, fork, the C++
# header, and the shared library's ABI (dlopen from python3 ctypes, exported symbols).
tier_add_test(NAME unit_alloc_policies SOURCES test_alloc_policies.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_alloc_capacity SOURCES test_alloc_capacity.cpp LABELS unit LIBS tier_static)
