# Emulation: the cost model (and, when present, the fault injector).
tier_add_test(NAME unit_emu_cost_model SOURCES test_emu_cost_model.cpp LABELS unit)
