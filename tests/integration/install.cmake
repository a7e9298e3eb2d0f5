# The installed package: `cmake --install` into a temporary prefix, then programs outside the
# tree built against it with find_package(Tier) (shared and static) and with pkg-config.
add_test(NAME integration_install
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/install_test.sh ${CMAKE_BINARY_DIR}
          ${CMAKE_CURRENT_SOURCE_DIR}/install)
set_tests_properties(integration_install PROPERTIES LABELS integration TIMEOUT 300)
