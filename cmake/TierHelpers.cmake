# One helper per kind of target: warnings/sanitizers, tests (with labels and environment).

function(tier_set_warnings_and_sanitizers)
  add_compile_options(-Wall -Wextra -Wshadow -Wno-unused-parameter)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 reports -Wrestrict on plain std::string concatenation at -O2 (GCC bug 105651,
    # fixed in 13); it is a false positive that -Werror would turn into a build failure.
    add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
  endif()
  if(TIER_WERROR)
    add_compile_options(-Werror)
  endif()
  if(TIER_SANITIZE STREQUAL "address")
    # -fno-sanitize=vptr: UBSan's dynamic-type check reports "invalid vptr" on sound objects
    # once the process is out of descriptors (integration_daemon_robustness holds tierd at its
    # descriptor limit; the epoch's adapters are the first polymorphic objects on that path).
    add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
  elseif(TIER_SANITIZE STREQUAL "thread")
    # -Wno-tsan: GCC warns that TSan does not model atomic_thread_fence. Tier's only fences
    # are the two sides of the shared-table seqlock between a client and tierd
    # (daemon_link.cpp, client_state.cpp), two processes that TSan cannot watch together.
    add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
    add_link_options(-fsanitize=thread)
  elseif(NOT TIER_SANITIZE STREQUAL "")
    message(FATAL_ERROR "TIER_SANITIZE must be '', 'address' or 'thread'")
  endif()
endfunction()

# tier_add_test(NAME name SOURCES a.cpp ... LABELS unit ... [ENV K=V ...] [LIBS ...] [TIMEOUT s]
#               [EXE target] [ARGS ...])
# Builds a Catch2 executable and registers it with CTest. Exit code 77 means "skipped" and is
# reported as such, never as a pass. EXE runs an executable an earlier tier_add_test built
# (instead of building one; SOURCES and LIBS are then not given), and ARGS are passed to it,
# so that one binary can be registered as several tests (Catch2 tag filters).
function(tier_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT;EXE" "SOURCES;LABELS;ENV;LIBS;ARGS" ${ARGN})
  if(T_EXE)
    set(T_COMMAND ${T_EXE})
  else()
    add_executable(${T_NAME} ${T_SOURCES})
    target_link_libraries(${T_NAME} PRIVATE tier_catch_main ${T_LIBS})
    set(T_COMMAND ${T_NAME})
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  # Labels for scripts/test.sh's sanitizer stages: `concurrency` for the tests listed in
  # tests/CMakeLists.txt (ThreadSanitizer), `daemon` for tierd's integration tests (ASan).
  if(T_NAME IN_LIST tier_concurrency_tests)
    list(APPEND T_LABELS concurrency)
  endif()
  if(T_NAME MATCHES "^integration_daemon_")
    list(APPEND T_LABELS daemon)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND} ${T_ARGS})
  set_tests_properties(${T_NAME} PROPERTIES
    LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "TIER_SOURCE_DIR=${PROJECT_SOURCE_DIR};TIER_FIXTURES=${PROJECT_SOURCE_DIR}/tests/fixtures;${T_ENV}")
endfunction()
