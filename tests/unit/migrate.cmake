# Movers, the agent and the heat API (libtier/migrate, libtier/client, include/tier/heat.h):
# mover conformance with a fault-injecting prim::Ops (NUMA) and on the `default` preset
# (emulated), the agent promoting hot and demoting cold chunks, and data integrity under
# concurrent writers while memory is relocated.
tier_add_test(NAME unit_migrate_numa SOURCES test_migrate_numa.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_migrate_emulated SOURCES test_migrate_emulated.cpp LABELS unit
  LIBS tier_static)
tier_add_test(NAME unit_migrate_integrity SOURCES test_migrate_integrity.cpp LABELS unit
  LIBS tier_static TIMEOUT 600)
tier_add_test(NAME unit_agent SOURCES test_agent.cpp LABELS unit LIBS tier_static)
tier_add_test(NAME unit_agent_fault_sampler SOURCES test_agent_fault_sampler.cpp LABELS unit
  LIBS tier_static)
