# tier-replay's deterministic core (bench/replay): the trace parser, Belady's optimum, and
# replays of tiny hand-made traces through the engine. The core sources are compiled in here so
# the tests do not depend on the benchmarks being enabled.
set(replay_core_dir ${PROJECT_SOURCE_DIR}/bench/replay)
set(replay_core
  ${replay_core_dir}/workload.cpp ${replay_core_dir}/moe.cpp ${replay_core_dir}/belady.cpp
  ${replay_core_dir}/engine_replay.cpp)
# The synthetic family, its judge and the time model (which links the emulation cost model).
tier_add_test(NAME unit_replay_generate
  SOURCES test_replay_generate.cpp ${replay_core} ${replay_core_dir}/generate.cpp
    ${replay_core_dir}/family.cpp ${replay_core_dir}/cost.cpp ${replay_core_dir}/report.cpp
  LABELS unit LIBS tier_workloads tier_static)
target_include_directories(unit_replay_generate PRIVATE ${replay_core_dir})
tier_add_test(NAME unit_replay
  SOURCES test_replay_trace.cpp test_replay_engine.cpp ${replay_core}
  LABELS unit LIBS tier_workloads tier_static)
target_include_directories(unit_replay PRIVATE ${replay_core_dir})
# Apart, because it skips (exit 77) as a whole when ../shared/data is missing.
tier_add_test(NAME unit_replay_data
  SOURCES test_replay_data.cpp ${replay_core}
  LABELS unit LIBS tier_workloads tier_static)
target_include_directories(unit_replay_data PRIVATE ${replay_core_dir})
# One engine: the agent, tierd's placement and tier-replay make identical plans from one access
# sequence (the three adapters of libtier/epoch/runner.hpp).
tier_add_test(NAME unit_epoch_adapters
  SOURCES test_epoch_adapters.cpp ${replay_core}
  LABELS unit LIBS tierd_core tier_workloads tier_static)
target_include_directories(unit_epoch_adapters PRIVATE ${replay_core_dir})
