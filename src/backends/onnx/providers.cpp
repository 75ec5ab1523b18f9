#include "backends/onnx/providers.hpp"

#include <dlfcn.h>

#include <climits>
#include <system_error>

namespace vlmrt::onnx {

namespace {

GraphOptimizationLevel optimization_level(int level) {
  switch (level) {
    case 0:
      return ORT_DISABLE_ALL;
    case 1:
      return ORT_ENABLE_BASIC;
    case 2:
      return ORT_ENABLE_EXTENDED;
    case 99:
      return ORT_ENABLE_ALL;
    default:
      throw Error(ErrorKind::InvalidArgument,
                  "ONNX graph optimization level " + std::to_string(level) +
                      ": expected 0 (none), 1 (basic), 2 (extended) or 99 (all)");
  }
}

Ort::SessionOptions base_session_options(const OnnxBackendOptions& options) {
  if (options.threads > static_cast<std::size_t>(INT_MAX))
    throw Error(ErrorKind::InvalidArgument,
                "ONNX backend: " + std::to_string(options.threads) + " threads is too many");
  const GraphOptimizationLevel level = optimization_level(options.graph_optimization_level);
  Ort::SessionOptions session_options;
  // 0 keeps ONNX Runtime's default (one thread per physical core).
  if (options.threads > 0) session_options.SetIntraOpNumThreads(static_cast<int>(options.threads));
  // The graphs are sequential chains: parallel branches gain nothing, extra pools cost threads.
  session_options.SetInterOpNumThreads(1);
  session_options.SetGraphOptimizationLevel(level);
  return session_options;
}

struct CStrings {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  explicit CStrings(const ProviderOptionList& list) {
    for (const auto& [key, value] : list) {
      keys.push_back(key.c_str());
      values.push_back(value.c_str());
    }
  }
};

void append_cuda(Ort::SessionOptions& session_options, int device_id) {
  const OrtApi& api = Ort::GetApi();
  OrtCUDAProviderOptionsV2* raw = nullptr;
  Ort::ThrowOnError(api.CreateCUDAProviderOptions(&raw));
  std::unique_ptr<OrtCUDAProviderOptionsV2, void (*)(OrtCUDAProviderOptionsV2*)> cuda(
      raw, api.ReleaseCUDAProviderOptions);
  const ProviderOptionList list = cuda_provider_options(device_id);
  const CStrings strings(list);
  Ort::ThrowOnError(api.UpdateCUDAProviderOptions(cuda.get(), strings.keys.data(),
                                                  strings.values.data(), strings.keys.size()));
  Ort::ThrowOnError(api.SessionOptionsAppendExecutionProvider_CUDA_V2(session_options, cuda.get()));
}

void append_tensorrt(Ort::SessionOptions& session_options, const TensorRtConfig& config) {
  const OrtApi& api = Ort::GetApi();
  OrtTensorRTProviderOptionsV2* raw = nullptr;
  Ort::ThrowOnError(api.CreateTensorRTProviderOptions(&raw));
  std::unique_ptr<OrtTensorRTProviderOptionsV2, void (*)(OrtTensorRTProviderOptionsV2*)> trt(
      raw, api.ReleaseTensorRTProviderOptions);
  const ProviderOptionList list = tensorrt_provider_options(config);
  const CStrings strings(list);
  Ort::ThrowOnError(api.UpdateTensorRTProviderOptions(trt.get(), strings.keys.data(),
                                                      strings.values.data(), strings.keys.size()));
  Ort::ThrowOnError(
      api.SessionOptionsAppendExecutionProvider_TensorRT_V2(session_options, trt.get()));
}

std::string provider_label(Provider provider) {
  switch (provider) {
    case Provider::Cpu:
      return "CPU";
    case Provider::Cuda:
      return "CUDA";
    case Provider::TensorRt:
      return "TensorRT";
  }
  return "?";
}

// Appending fails with "... is not enabled in this build" when the library was built without the
// provider, and with a load error when its shared library, CUDA or the driver is missing.
[[noreturn]] void throw_unavailable(Provider provider, int device_id, const Ort::Exception& e) {
  const std::string what = e.what();
  const std::string label = provider_label(provider);
  const std::string library_dir = onnxruntime_library_dir().string();
  if (what.find("not enabled in this build") != std::string::npos)
    throw ProviderUnavailable(
        ErrorKind::Unsupported,
        "the " + label + " execution provider is missing: the ONNX Runtime " +
            onnxruntime_version() + " loaded from " + library_dir + " has " +
            available_providers() + " only (" + what + "); put ONNX Runtime's GPU provider " +
            "libraries (libonnxruntime_providers_shared.so, libonnxruntime_providers_" +
            (provider == Provider::Cuda ? "cuda" : "tensorrt") +
            ".so) beside it, or use the onnx-cpu backend");
  throw ProviderUnavailable(ErrorKind::Backend,
                            "the " + label + " execution provider (device " +
                                std::to_string(device_id) + ") failed to load: " + what +
                                " (needs its provider library in " + library_dir +
                                ", the CUDA runtime and a working NVIDIA GPU and driver)");
}

}  // namespace

std::string onnxruntime_version() {
  return Ort::GetVersionString();
}

std::string_view provider_name(Provider provider) noexcept {
  switch (provider) {
    case Provider::Cpu:
      return "cpu";
    case Provider::Cuda:
      return "cuda";
    case Provider::TensorRt:
      return "tensorrt";
  }
  return "?";
}

std::string_view provider_ep_name(Provider provider) noexcept {
  switch (provider) {
    case Provider::Cpu:
      return "CPUExecutionProvider";
    case Provider::Cuda:
      return "CUDAExecutionProvider";
    case Provider::TensorRt:
      return "TensorrtExecutionProvider";
  }
  return "?";
}

std::string available_providers() {
  std::string text;
  try {
    for (const std::string& name : Ort::GetAvailableProviders()) {
      if (!text.empty()) text += ", ";
      text += name;
    }
  } catch (const Ort::Exception&) {
    return "(unknown providers)";
  }
  return text;
}

std::filesystem::path onnxruntime_library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&OrtGetApiBase), &info) == 0 || !info.dli_fname)
    return "(unknown folder)";
  return std::filesystem::path(info.dli_fname).parent_path();
}

ProviderOptionList cuda_provider_options(int device_id) {
  return {{"device_id", std::to_string(device_id)}};
}

ProviderOptionList tensorrt_provider_options(const TensorRtConfig& config) {
  return {
      {"device_id", std::to_string(config.device_id)},
      {"trt_fp16_enable", config.fp16 ? "1" : "0"},
      {"trt_int8_enable", config.int8 ? "1" : "0"},
      {"trt_max_workspace_size", std::to_string(config.max_workspace_size)},
      // Engines take minutes to build for a real model: build once, reuse from the cache.
      {"trt_engine_cache_enable", "1"},
      {"trt_engine_cache_path", config.engine_cache_path},
  };
}

SessionFactory::SessionFactory(Ort::Env& env, const OnnxBackendOptions& options)
    : env_(env), options_(options), session_options_(base_session_options(options)) {
  const int device = device_id();
  if (device < 0)
    throw Error(ErrorKind::InvalidArgument,
                "ONNX backend: device id " + std::to_string(device) + " is negative");
  if (options_.provider == Provider::TensorRt) {
    if (options_.tensorrt.engine_cache_path.empty())
      throw Error(ErrorKind::InvalidArgument, "TensorRT: the engine cache path is empty");
    if (options_.tensorrt.max_workspace_size == 0)
      throw Error(ErrorKind::InvalidArgument, "TensorRT: max_workspace_size is 0 bytes");
  }
  try {
    switch (options_.provider) {
      case Provider::Cpu:
        return;
      case Provider::Cuda:
        append_cuda(session_options_, device);
        break;
      case Provider::TensorRt:
        append_tensorrt(session_options_, options_.tensorrt);
        // Nodes TensorRT does not take run on CUDA rather than on the CPU.
        append_cuda(session_options_, device);
        break;
    }
  } catch (const Ort::Exception& e) {
    throw_unavailable(options_.provider, device, e);
  }
  // Created only once the provider is known to exist, so a CPU fallback leaves no folder behind.
  if (options_.provider == Provider::TensorRt) {
    std::error_code ec;
    std::filesystem::create_directories(options_.tensorrt.engine_cache_path, ec);
    if (ec)
      throw Error(ErrorKind::Io,
                  options_.tensorrt.engine_cache_path +
                      ": cannot create the TensorRT engine cache folder: " + ec.message());
  }
}

int SessionFactory::device_id() const noexcept {
  switch (options_.provider) {
    case Provider::Cpu:
      return 0;
    case Provider::Cuda:
      return options_.device_id;
    case Provider::TensorRt:
      return options_.tensorrt.device_id;
  }
  return 0;
}

std::unique_ptr<GraphSession> SessionFactory::open(const std::filesystem::path& path) const {
  try {
    return std::make_unique<GraphSession>(env_, path, session_options_);
  } catch (const Error& e) {
    if (on_cpu()) throw;
    // A graph the CPU provider cannot load either is a bad file: its own error says so.
    OnnxBackendOptions cpu = options_;
    cpu.provider = Provider::Cpu;
    GraphSession probe(env_, path, base_session_options(cpu));
    throw ProviderUnavailable(ErrorKind::Backend,
                              "the " + provider_label(options_.provider) +
                                  " execution provider (device " + std::to_string(device_id()) +
                                  ") cannot run " + path.string() +
                                  ", which loads on the CPU provider: " + e.what());
  }
}

Ort::MemoryInfo SessionFactory::cache_memory() const {
  if (on_cpu()) return Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault);
  // CUDA and TensorRT both produce their outputs in CUDA device memory.
  return Ort::MemoryInfo("Cuda", OrtDeviceAllocator, device_id(), OrtMemTypeDefault);
}

std::string SessionFactory::describe() const {
  std::string text = "onnxruntime-" + std::string(provider_name(options_.provider)) + " (ORT " +
                     onnxruntime_version();
  if (!on_cpu()) text += ", device " + std::to_string(device_id());
  if (options_.provider == Provider::TensorRt) {
    if (options_.tensorrt.fp16) text += ", fp16";
    if (options_.tensorrt.int8) text += ", int8";
  }
  if (options_.threads > 0)
    text +=
        ", " + std::to_string(options_.threads) + (options_.threads == 1 ? " thread" : " threads");
  return text + ")";
}

}  // namespace vlmrt::onnx
