# tier-serve-demo (examples/serve_demo) run end to end on the `default` preset, its JSON report
# checked. The JSON is read with the workloads/ reader.
tier_add_test(NAME integration_serve_demo SOURCES test_serve_demo.cpp LABELS integration
  LIBS tier_workloads tier_static TIMEOUT 180 ENV TIER_SERVE_DEMO=$<TARGET_FILE:tier-serve-demo>)
add_dependencies(integration_serve_demo tier-serve-demo)
