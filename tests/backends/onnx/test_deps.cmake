# The ONNX backend's tests include ONNX Runtime headers (src/backends/onnx/*.hpp); without ONNX
# Runtime the sources compile to one skipped test (VLMRT_WITH_ONNXRUNTIME is undefined).
if(TARGET onnxruntime::onnxruntime)
  target_link_libraries(${test_target} PRIVATE onnxruntime::onnxruntime)
endif()
