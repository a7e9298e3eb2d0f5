# The LD_PRELOAD shim under unmodified programs (tests/integration/preload/): a probe program's
# placement checked against the exit report, python3 building large objects, and redis-server
# driven by redis-benchmark; each compared with a run without the shim.
if(TARGET tier-preload)
  add_executable(preload_probe preload/probe.cpp)  # an ordinary program: links nothing of Tier
  set(_dir ${CMAKE_CURRENT_SOURCE_DIR}/preload)
  add_test(NAME integration_preload_placement
    COMMAND ${_dir}/placement.sh $<TARGET_FILE:tier-preload> $<TARGET_FILE:preload_probe>)
  find_program(TIER_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
  add_test(NAME integration_preload_python
    COMMAND ${_dir}/python.sh $<TARGET_FILE:tier-preload> ${TIER_PYTHON3} ${_dir}/objects.py)
  add_test(NAME integration_preload_redis COMMAND ${_dir}/redis.sh $<TARGET_FILE:tier-preload>)
  set_tests_properties(integration_preload_placement integration_preload_python
    integration_preload_redis PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
  add_dependencies(preload_probe tier-preload)
endif()
