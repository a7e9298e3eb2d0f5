# The workload APIs (include/tier/kv.h, include/tier/experts.h) on the `default` emulated
# preset: block pool semantics, prefix sharing, pins, full pools, threads under a moving agent;
# expert registration, routing heat and prefetch reaching the fastest tier.
tier_add_test(NAME unit_kv SOURCES test_kv.cpp LABELS unit LIBS tier_static TIMEOUT 120)
tier_add_test(NAME unit_experts SOURCES test_experts.cpp LABELS unit LIBS tier_static TIMEOUT 120)
tier_add_test(NAME unit_kv_cpp SOURCES test_kv_cpp.cpp LABELS unit LIBS tier_static)
