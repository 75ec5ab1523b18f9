target_link_libraries(${test_target} PRIVATE vlmrt_allocation_counter)
