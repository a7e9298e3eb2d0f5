# tierd's support library (daemon/config*, systemd_notify, journal) and its unit.
tier_add_test(NAME unit_daemon_config SOURCES test_daemon_config.cpp test_daemon_config_errors.cpp
  LABELS unit LIBS tierd_support)
# ... and tierd itself, run with NOTIFY_SOCKET and WATCHDOG_USEC as systemd would.
tier_add_test(NAME unit_daemon_systemd SOURCES test_daemon_systemd.cpp LABELS unit LIBS tierd_support
  ENV TIERD_BIN=$<TARGET_FILE:tierd>)
add_dependencies(unit_daemon_systemd tierd)
# The systemd unit: `systemd-analyze verify` on the generated tierd.service, with ExecStart
# pointed at a built binary (tierd once it exists, tierctl until then: verify only needs an
# executable there; every directive of the unit is checked either way).
# (daemon/ is added before tests/, so its targets are known here.)
if(TARGET tierd)
  set(tier_unit_exec tierd)
else()
  set(tier_unit_exec tierctl)
endif()
add_test(NAME unit_daemon_unit_verify
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/verify_unit.sh ${PROJECT_BINARY_DIR}/daemon/tierd.service
    $<TARGET_FILE:${tier_unit_exec}>)
set_tests_properties(unit_daemon_unit_verify PROPERTIES LABELS unit SKIP_RETURN_CODE 77 TIMEOUT 60)
# The installed unit names the installed tierd: the daemon directory installed into a DESTDIR.
add_test(NAME unit_daemon_unit_install
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/check_unit_install.sh ${PROJECT_BINARY_DIR})
set_tests_properties(unit_daemon_unit_install PROPERTIES LABELS unit TIMEOUT 60)
