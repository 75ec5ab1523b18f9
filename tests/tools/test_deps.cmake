# The example programs are run by examples_test.cpp.
if(VLMRT_BUILD_EXAMPLES)
  add_dependencies(${test_target} paligemma_native smolvlm_chat backend_selection)
  target_compile_definitions(${test_target} PRIVATE VLMRT_EXAMPLES_DIR="${PROJECT_BINARY_DIR}/examples")
endif()
