# The CXL 3.1 pool (issue #13): the pool device, its extent tables and the file backend.
tier_add_test(NAME unit_pool_device SOURCES test_pool_device.cpp LABELS unit pool LIBS tier_pool)
tier_add_test(NAME unit_pool_host SOURCES test_pool_host.cpp LABELS unit pool LIBS tier_pool tierd_core)
