# Emulation: the cost model (and, when present, the fault injector).
tier_add_test(NAME unit_emu_cost_model SOURCES test_emu_cost_model.cpp LABELS unit)
# tier-vm's QEMU arguments, memory scaling, cpio writer and exit marker (no VM is booted).
tier_add_test(NAME unit_emu_tier_vm SOURCES test_emu_tier_vm.cpp LABELS unit LIBS tier_vm_core)
# Seeded fault injection over the OS primitive seam (a fake kernel below it; no NUMA needed).
tier_add_test(NAME unit_emu_fault_injector SOURCES test_emu_fault_injector.cpp LABELS unit)
