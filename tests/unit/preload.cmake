# The LD_PRELOAD shim (preload/): its rule parser, and the shim itself loaded into a test
# process (malloc family, ownership routing, threads, fork, the exit report).
if(TARGET tier-preload)
  tier_add_test(NAME unit_preload_rules
    SOURCES test_preload_rules.cpp ${PROJECT_SOURCE_DIR}/preload/rules.cpp
    LABELS unit LIBS tier_static)
  target_include_directories(unit_preload_rules PRIVATE ${PROJECT_SOURCE_DIR}/preload)
endif()
if(TARGET tier-preload)
  # Calls nothing of libtier directly: the shim is dlopen'ed and called through its exports.
  # The shim's TLS is initial-exec (it is meant to be preloaded, where TLS is static), so a
  # dlopen needs more surplus static TLS than glibc's default 512 bytes.
  add_executable(unit_preload_shim test_preload_shim.cpp)
  target_link_libraries(unit_preload_shim PRIVATE tier_catch_main ${CMAKE_DL_LIBS} Threads::Threads)
  add_dependencies(unit_preload_shim tier-preload)
  add_test(NAME unit_preload_shim COMMAND unit_preload_shim)
  set_tests_properties(unit_preload_shim PROPERTIES LABELS unit TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "TIER_PRELOAD_SO=$<TARGET_FILE:tier-preload>;GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536")
endif()
if(TARGET tier-preload)
  tier_add_test(NAME unit_preload_bootstrap
    SOURCES test_preload_bootstrap.cpp ${PROJECT_SOURCE_DIR}/preload/next.cpp
    LABELS unit LIBS ${CMAKE_DL_LIBS} Threads::Threads)
  target_include_directories(unit_preload_bootstrap PRIVATE ${PROJECT_SOURCE_DIR}/preload)
endif()
