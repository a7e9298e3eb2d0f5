# tierd's checks on what clients send (issue 5).
tier_add_test(NAME unit_daemon_protocol SOURCES test_daemon_protocol.cpp LABELS unit LIBS tierd_core)
tier_add_test(NAME unit_daemon_placement SOURCES test_daemon_placement.cpp LABELS unit LIBS tierd_core)
tier_add_test(NAME unit_daemon_metrics SOURCES test_daemon_metrics.cpp LABELS unit LIBS tierd_core)
# tierd short of descriptors: the RLIMIT_NOFILE raise and the accept back-off.
tier_add_test(NAME unit_daemon_descriptors SOURCES test_daemon_descriptors.cpp LABELS unit
  LIBS tierd_core)
