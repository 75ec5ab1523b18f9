#include "runtime/backend_factory.hpp"

#include <string>

#include "backends/native/native_backend.hpp"
#ifdef VLMRT_WITH_ONNXRUNTIME
#include "backends/onnx/onnx_backend.hpp"
#endif
#include "vlmrt/errors.hpp"

namespace vlmrt {

std::string backend_type_name(const BackendType& backend) {
  struct Namer {
    std::string operator()(const backend::Native& native) const {
      return native.device == backend::Device::Cpu ? "native" : "native-cuda";
    }
    std::string operator()(const backend::OnnxCpu&) const { return "onnx-cpu"; }
    std::string operator()(const backend::OnnxCuda&) const { return "onnx-cuda"; }
    std::string operator()(const backend::OnnxTensorRt&) const { return "onnx-tensorrt"; }
  };
  return std::visit(Namer{}, backend);
}

BackendType parse_backend_type(std::string_view name) {
  if (name == "native" || name == "native-cpu") return backend::Native{};
  if (name == "native-cuda") return backend::Native{backend::Device::Cuda, 0};
  if (name == "onnx-cpu") return backend::OnnxCpu{};
  if (name == "onnx-cuda") return backend::OnnxCuda{};
  if (name == "onnx-tensorrt") return backend::OnnxTensorRt{};
  throw Error(ErrorKind::InvalidArgument,
              "unknown backend '" + std::string(name) +
                  "': expected native, native-cuda, onnx-cpu, onnx-cuda or "
                  "onnx-tensorrt");
}

namespace runtime {

std::unique_ptr<ModelBackend> open_backend(const ModelFolder& folder, const BackendType& backend,
                                           const ModelOptions& options) {
  if (const auto* native = std::get_if<backend::Native>(&backend)) {
    if (native->device != backend::Device::Cpu)
      throw Error(ErrorKind::Unsupported,
                  "backend native-cuda: this vlmrt has no CUDA engine yet; use "
                  "native (CPU)");
    return native::open_native_backend(folder, {options.threads});
  }
#ifdef VLMRT_WITH_ONNXRUNTIME
  using Provider = onnx::OnnxBackendOptions::Provider;
  onnx::OnnxBackendOptions onnx_options;
  onnx_options.threads = options.threads;
  onnx_options.graph_optimization_level = options.graph_optimization_level;
  onnx_options.allow_cpu_fallback = options.allow_cpu_fallback;
  onnx_options.dtypes = options.onnx_variants;
  if (const auto* cuda = std::get_if<backend::OnnxCuda>(&backend)) {
    onnx_options.provider = Provider::Cuda;
    onnx_options.device_id = cuda->device_id;
  } else if (const auto* tensorrt = std::get_if<backend::OnnxTensorRt>(&backend)) {
    onnx_options.provider = Provider::TensorRt;
    onnx_options.tensorrt = tensorrt->config;
    onnx_options.device_id = tensorrt->config.device_id;
  }
  return onnx::open_onnx_backend(folder, onnx_options);
#else
  throw Error(ErrorKind::Unsupported,
              "backend " + backend_type_name(backend) +
                  ": this vlmrt was built without ONNX Runtime (run scripts/setup, which installs "
                  "it, and rebuild with -DVLMRT_WITH_ONNXRUNTIME=ON); use --backend native");
#endif
}

}  // namespace runtime

}  // namespace vlmrt
