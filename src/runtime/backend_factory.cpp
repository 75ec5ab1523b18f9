#include "runtime/backend_factory.hpp"

#include <string>

#include "backends/native/native_backend.hpp"
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
  throw Error(ErrorKind::Unsupported, "backend " + backend_type_name(backend) +
                                          ": the ONNX Runtime backend is not built into this vlmrt "
                                          "(not available yet); "
                                          "use --backend native");
}

}  // namespace runtime

}  // namespace vlmrt
