# tierd with real client processes (issue 5). Each test starts its own tierd on a socket in a
# temporary directory; binaries are handed over through the environment.
add_executable(tier_daemon_client daemon_client.cpp)
target_link_libraries(tier_daemon_client PRIVATE tier_static)

set(TIER_DAEMON_TEST_ENV
  TIERD_BIN=$<TARGET_FILE:tierd>
  TIERCTL_BIN=$<TARGET_FILE:tierctl>
  TIER_DAEMON_CLIENT_BIN=$<TARGET_FILE:tier_daemon_client>
  TIER_DAEMON_TOPOLOGY=${CMAKE_CURRENT_SOURCE_DIR}/daemon-two-tier.toml)

foreach(t convergence robustness hostile churn tierctl metrics)
  tier_add_test(NAME integration_daemon_${t} SOURCES test_daemon_${t}.cpp daemon_harness.cpp
    LABELS integration ENV ${TIER_DAEMON_TEST_ENV} LIBS tierd_core TIMEOUT 120)
  add_dependencies(integration_daemon_${t} tierd tierctl tier_daemon_client)
endforeach()
