# Topology: discovery on recorded machines, classification, ranking, files, presets, tierctl.
tier_add_test(NAME unit_topology
  SOURCES test_topology_discovery.cpp test_topology_file.cpp test_topology_presets.cpp
  LABELS unit)
tier_add_test(NAME unit_topology_tierctl SOURCES test_topology_tierctl.cpp LABELS unit
  ENV "TIERCTL=$<TARGET_FILE:tierctl>")
add_dependencies(unit_topology_tierctl tierctl)
