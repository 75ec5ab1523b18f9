// Execution providers (DESIGN.md "Seams": chosen at run time). Builds the session options for the
// CPU, CUDA or TensorRT provider through ONNX Runtime's C API, opens
// graphs with them, and turns "provider library / GPU missing" into a typed error that
// open_onnx_backend can turn into a logged CPU fallback when the caller allowed one.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/onnx/graph_session.hpp"
#include "backends/onnx/onnx_backend.hpp"

namespace vlmrt::onnx {

using Provider = OnnxBackendOptions::Provider;

// A provider that cannot run here: its library, the driver or the GPU is missing, or it failed
// to build a session for a graph the CPU provider loads. Kind Unsupported (this ONNX Runtime has
// no such provider) or Backend (it failed to load or to run).
class ProviderUnavailable : public Error {
 public:
  using Error::Error;
};

// "cpu", "cuda", "tensorrt".
std::string_view provider_name(Provider provider) noexcept;
// ONNX Runtime's name: "CPUExecutionProvider", "CUDAExecutionProvider", ...
std::string_view provider_ep_name(Provider provider) noexcept;
// The providers this ONNX Runtime library reports, comma-separated.
std::string available_providers();
// The folder libonnxruntime.so.1 was loaded from (where provider libraries must sit too).
std::filesystem::path onnxruntime_library_dir();

// The CUDA provider's options (the legacy struct: ONNX Runtime builds without CUDA compiled in,
// like the npm package's, load the provider library only through it).
OrtCUDAProviderOptions cuda_provider_options(int device_id);

// The TensorRT provider's options: device id, fp16, int8, workspace size, and the engine cache
// (always on: engines take minutes to build for a real model). Owns the cache path string that
// the C struct points to.
class TensorRtProviderOptions {
 public:
  explicit TensorRtProviderOptions(const TensorRtConfig& config);
  TensorRtProviderOptions(const TensorRtProviderOptions&) = delete;
  TensorRtProviderOptions& operator=(const TensorRtProviderOptions&) = delete;
  const OrtTensorRTProviderOptions& get() const noexcept { return options_; }

 private:
  std::string cache_path_;
  OrtTensorRTProviderOptions options_{};
};

// The shared library ONNX Runtime loads for a GPU provider ("libonnxruntime_providers_cuda.so").
std::string provider_library(Provider provider);

class SessionFactory {
 public:
  // Validates the options and appends the provider (for TensorRT: TensorRT, then CUDA for the
  // nodes TensorRT does not take; its engine cache folder is created). Throws
  // ProviderUnavailable when the provider cannot be appended, InvalidArgument for bad options,
  // Io when the engine cache folder cannot be created.
  SessionFactory(Ort::Env& env, const OnnxBackendOptions& options);

  // Opens one graph. A graph that fails under CUDA/TensorRT is retried on the CPU provider to
  // tell a bad file (its Format/NotFound error is thrown) from a provider that cannot run it
  // (ProviderUnavailable).
  std::unique_ptr<GraphSession> open(const std::filesystem::path& path) const;

  Provider provider() const noexcept { return options_.provider; }
  int device_id() const noexcept;
  bool on_cpu() const noexcept { return options_.provider == Provider::Cpu; }
  // Where the KV cache stays between steps: the provider's device memory.
  Ort::MemoryInfo cache_memory() const;
  // "onnxruntime-cuda (ORT 1.29.0, device 0)".
  std::string describe() const;

 private:
  Ort::Env& env_;
  OnnxBackendOptions options_;
  Ort::SessionOptions session_options_{nullptr};
};

}  // namespace vlmrt::onnx
