# tierd's support library (daemon/config*, metrics, http_metrics, systemd_notify) and its unit.
tier_add_test(NAME unit_daemon_config SOURCES test_daemon_config.cpp test_daemon_config_errors.cpp
  LABELS unit LIBS tierd_support)
tier_add_test(NAME unit_daemon_metrics SOURCES test_daemon_metrics.cpp LABELS unit LIBS tierd_support)
tier_add_test(NAME unit_daemon_systemd SOURCES test_daemon_systemd.cpp LABELS unit LIBS tierd_support)
