# tierd on real kernel NUMA nodes (issue 5): inside the VM tierd discovers the three nodes and
# moves a client's pages with move_pages(pid). Included from tests/vm/CMakeLists.txt.
tier_add_vm_test(NAME vm_daemon SOURCES vm_test_daemon.cpp ../integration/daemon_harness.cpp
  BINS $<TARGET_FILE:tierd> $<TARGET_FILE:tier_daemon_client>)
target_include_directories(vm_daemon PRIVATE ${PROJECT_SOURCE_DIR}/tests/integration)
target_link_libraries(vm_daemon PRIVATE tier_static)
target_compile_definitions(vm_daemon PRIVATE TIERD_PATH="$<TARGET_FILE:tierd>"
  CLIENT_PATH="$<TARGET_FILE:tier_daemon_client>")
add_dependencies(vm_daemon tierd tier_daemon_client)
