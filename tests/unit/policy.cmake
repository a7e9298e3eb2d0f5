# Heat tracking and the placement engine (libtier/heat, libtier/policy).
tier_add_test(NAME unit_heat
  SOURCES test_heat_chunk_table.cpp test_heat_temperature.cpp test_heat_reuse.cpp
  LABELS unit LIBS tier_static)
tier_add_test(NAME unit_policy
  SOURCES test_policy_conformance.cpp test_policy_rules.cpp
  LABELS unit LIBS tier_static)
