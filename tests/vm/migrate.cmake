# Movers in the VM (issue 4): Tier's NUMA mover and agent against real kernel NUMA nodes.
# Included from tests/vm/CMakeLists.txt after tier_add_vm_test is defined.
tier_add_vm_test(NAME vm_migrate SOURCES test_migrate_vm.cpp)
target_link_libraries(vm_migrate PRIVATE tier_static)
