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

void append_provider(Ort::SessionOptions& session_options, const OnnxBackendOptions& options,
                     int device_id) {
  switch (options.provider) {
    case Provider::Cpu:
      return;
    case Provider::Cuda:
      session_options.AppendExecutionProvider_CUDA(cuda_provider_options(device_id));
      return;
    case Provider::TensorRt: {
      const TensorRtProviderOptions tensorrt(options.tensorrt);
      session_options.AppendExecutionProvider_TensorRT(tensorrt.get());
      // Nodes TensorRT does not take run on CUDA rather than on the CPU.
      session_options.AppendExecutionProvider_CUDA(cuda_provider_options(device_id));
      return;
    }
  }
}

// Why a provider library does not load, in the dynamic loader's words (ONNX Runtime's own
// exception only says "Failed to load shared library").
std::string load_failure(const std::filesystem::path& library) {
  void* handle = dlopen(library.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (handle) {
    dlclose(handle);
    return "";
  }
  const char* reason = dlerror();
  return reason ? reason : "unknown dynamic loader error";
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

// No provider library beside libonnxruntime.so.1: this ONNX Runtime cannot do GPU work at all
// (Unsupported). A library that is there but does not load lacks the driver, CUDA, cuDNN or
// TensorRT (Backend): the loader's message names the missing piece.
[[noreturn]] void throw_unavailable(Provider provider, int device_id, const Ort::Exception& e) {
  const std::string label = provider_label(provider);
  const std::filesystem::path folder = onnxruntime_library_dir();
  const std::filesystem::path library = folder / provider_library(provider);
  if (!std::filesystem::exists(library))
    throw ProviderUnavailable(
        ErrorKind::Unsupported,
        "the " + label + " execution provider is missing: the ONNX Runtime " +
            onnxruntime_version() + " in " + folder.string() + " has " + available_providers() +
            " only and no " + library.filename().string() +
            " beside it; run `scripts/setup --gpu-providers` to install ONNX Runtime's GPU "
            "provider libraries, or use the onnx-cpu backend");
  std::string reason = load_failure(library);
  if (reason.empty()) reason = e.what();
  throw ProviderUnavailable(
      ErrorKind::Backend,
      "the " + label + " execution provider (device " + std::to_string(device_id) +
          ") failed to load: " + reason + " (" + library.filename().string() +
          " needs the NVIDIA driver and CUDA 13 with cuDNN 9" +
          (provider == Provider::TensorRt ? ", and TensorRT 10 for libnvinfer" : "") +
          " on the library path)");
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

OrtCUDAProviderOptions cuda_provider_options(int device_id) {
  OrtCUDAProviderOptions options;  // the C++ constructor sets ONNX Runtime's defaults
  options.device_id = device_id;
  return options;
}

TensorRtProviderOptions::TensorRtProviderOptions(const TensorRtConfig& config)
    : cache_path_(config.engine_cache_path) {
  options_.device_id = config.device_id;
  options_.trt_max_workspace_size = config.max_workspace_size;
  options_.trt_fp16_enable = config.fp16 ? 1 : 0;
  options_.trt_int8_enable = config.int8 ? 1 : 0;
  options_.trt_engine_cache_enable = 1;
  options_.trt_engine_cache_path = cache_path_.c_str();
  // ONNX Runtime's defaults for the fields the struct has no initialiser for.
  options_.trt_max_partition_iterations = 1000;
  options_.trt_min_subgraph_size = 1;
}

std::string provider_library(Provider provider) {
  return "libonnxruntime_providers_" + std::string(provider_name(provider)) + ".so";
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
  if (on_cpu()) return;
  try {
    append_provider(session_options_, options_, device);
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
