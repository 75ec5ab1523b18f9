if(TARGET onnxruntime::onnxruntime)
  target_link_libraries(${test_target} PRIVATE onnxruntime::onnxruntime)
  target_compile_definitions(${test_target} PRIVATE VLMRT_HAVE_ONNXRUNTIME=1)
endif()
