// Execution provider handling: the option keys handed to ONNX Runtime's C API, and what a CUDA or
// TensorRT request does where the provider library or GPU is missing (this library reports the
// CPU provider only): a typed error naming what is missing, or, when allowed, a logged fallback
// to the CPU provider that name() reports.
#ifdef VLMRT_WITH_ONNXRUNTIME
#include <gtest/gtest.h>

#include "backends/onnx/providers.hpp"
#include "onnx_test_support.hpp"
#include "test_support.hpp"

namespace vlmrt::onnx {
namespace {

using testing::cpu_options;
using testing::open_export;
using testing::throws_error;

bool has_provider(std::string_view name) {
  return available_providers().find(name) != std::string::npos;
}

// Without the provider library (the default install) the request is Unsupported and says how to
// install it; with it (`scripts/setup --gpu-providers`) on a machine without a GPU driver it is
// a Backend error quoting the loader (libcuda.so.1 / libnvinfer missing).
bool provider_library_installed(Provider provider) {
  return std::filesystem::exists(onnxruntime_library_dir() / provider_library(provider));
}

ErrorKind expected_kind(Provider provider) {
  return provider_library_installed(provider) ? ErrorKind::Backend : ErrorKind::Unsupported;
}

std::string expected_detail(Provider provider) {
  if (!provider_library_installed(provider)) return "scripts/setup --gpu-providers";
  return provider == Provider::Cuda ? "libcuda.so.1" : "libnvinfer";
}

TEST(OnnxProviders, TensorRtConfigMapsToProviderOptions) {
  TensorRtConfig config;
  config.device_id = 3;
  config.fp16 = false;
  config.int8 = true;
  config.max_workspace_size = std::size_t{2} << 30;
  config.engine_cache_path = "/tmp/engines";
  const TensorRtProviderOptions options(config);
  const OrtTensorRTProviderOptions& raw = options.get();
  EXPECT_EQ(raw.device_id, 3);
  EXPECT_EQ(raw.trt_fp16_enable, 0);
  EXPECT_EQ(raw.trt_int8_enable, 1);
  EXPECT_EQ(raw.trt_max_workspace_size, std::size_t{2} << 30);
  EXPECT_EQ(raw.trt_engine_cache_enable, 1);
  EXPECT_STREQ(raw.trt_engine_cache_path, "/tmp/engines");
  EXPECT_EQ(raw.trt_max_partition_iterations, 1000);
  EXPECT_EQ(raw.trt_min_subgraph_size, 1);
}

TEST(OnnxProviders, TensorRtDefaultsAreTheDocumentedOnes) {
  const TensorRtProviderOptions options{TensorRtConfig{}};
  EXPECT_EQ(options.get().device_id, 0);
  EXPECT_EQ(options.get().trt_fp16_enable, 1);
  EXPECT_EQ(options.get().trt_int8_enable, 0);
  EXPECT_EQ(options.get().trt_max_workspace_size, std::size_t{1} << 30);
  EXPECT_STREQ(options.get().trt_engine_cache_path, "./trt_cache");
}

TEST(OnnxProviders, CudaOptionsCarryTheDeviceId) {
  EXPECT_EQ(cuda_provider_options(1).device_id, 1);
  EXPECT_EQ(provider_library(Provider::Cuda), "libonnxruntime_providers_cuda.so");
  EXPECT_EQ(provider_library(Provider::TensorRt), "libonnxruntime_providers_tensorrt.so");
}

TEST(OnnxProviders, ReportsTheCpuProviderAndTheLibraryVersion) {
  EXPECT_NE(available_providers().find("CPUExecutionProvider"), std::string::npos);
  EXPECT_EQ(onnxruntime_version().substr(0, 5), "1.29.");
  EXPECT_TRUE(std::filesystem::exists(onnxruntime_library_dir() / "libonnxruntime.so.1"))
      << onnxruntime_library_dir();
}

TEST(OnnxProviders, CudaWithoutItsProviderIsATypedErrorNamingWhatIsMissing) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  if (has_provider("CUDAExecutionProvider")) GTEST_SKIP() << "this ONNX Runtime has CUDA";
  OnnxBackendOptions options = cpu_options();
  options.provider = Provider::Cuda;
  EXPECT_TRUE(throws_error([&] { open_export("tiny-smolvlm-fp32", options); },
                           expected_kind(Provider::Cuda),
                           {"CUDA execution provider", "libonnxruntime_providers_cuda.so",
                            expected_detail(Provider::Cuda)}));
}

TEST(OnnxProviders, TensorRtWithoutItsProviderFailsAndCreatesNoEngineCache) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  if (has_provider("TensorrtExecutionProvider")) GTEST_SKIP() << "this ONNX Runtime has TensorRT";
  const auto cache = vlmrt::testing::scratch_dir("trt_missing") / "engines";
  OnnxBackendOptions options = cpu_options();
  options.provider = Provider::TensorRt;
  options.tensorrt.engine_cache_path = cache.string();
  EXPECT_TRUE(throws_error([&] { open_export("tiny-smolvlm-fp32", options); },
                           expected_kind(Provider::TensorRt),
                           {"TensorRT execution provider", "libonnxruntime_providers_tensorrt.so",
                            expected_detail(Provider::TensorRt)}));
  EXPECT_FALSE(std::filesystem::exists(cache));
}

TEST(OnnxProviders, CudaFallsBackToCpuWithAWarningWhenAllowed) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  if (has_provider("CUDAExecutionProvider")) GTEST_SKIP() << "this ONNX Runtime has CUDA";
  OnnxBackendOptions options = cpu_options();
  options.provider = Provider::Cuda;
  options.allow_cpu_fallback = true;
  ::testing::internal::CaptureStderr();
  const auto backend = open_export("tiny-smolvlm-fp32", options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("falling back to the CPU execution provider"), std::string::npos) << log;
  EXPECT_NE(log.find("CUDA execution provider"), std::string::npos) << log;
  const std::string name = backend->name();
  EXPECT_EQ(name.rfind("onnxruntime-cpu (ORT " + onnxruntime_version(), 0), 0u) << name;
  EXPECT_NE(name.find("CPU fallback: CUDA unavailable"), std::string::npos) << name;
}

TEST(OnnxProviders, TensorRtFallsBackToCpuWhenAllowed) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  if (has_provider("TensorrtExecutionProvider")) GTEST_SKIP() << "this ONNX Runtime has TensorRT";
  OnnxBackendOptions options = cpu_options();
  options.provider = Provider::TensorRt;
  options.tensorrt.engine_cache_path =
      (vlmrt::testing::scratch_dir("trt_fallback") / "engines").string();
  options.allow_cpu_fallback = true;
  ::testing::internal::CaptureStderr();
  const auto backend = open_export("tiny-smolvlm-fp32", options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("TensorRT execution provider"), std::string::npos) << log;
  EXPECT_NE(backend->name().find("CPU fallback: TensorRT unavailable"), std::string::npos)
      << backend->name();
}

TEST(OnnxProviders, NameReportsTheCpuProviderAndTheVariants) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  OnnxBackendOptions options = cpu_options();
  options.dtypes = {{"decoder", "q4"}};
  const auto backend = open_export("tiny-smolvlm-fp32", options);
  EXPECT_EQ(backend->name(), "onnxruntime-cpu (ORT " + onnxruntime_version() +
                                 ", 1 thread; vision fp32, embed fp32, decoder q4)");
  EXPECT_FALSE(backend->supports_batch());
}

TEST(OnnxProviders, RejectsBadOptions) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  OnnxBackendOptions options = cpu_options();
  options.graph_optimization_level = 5;
  EXPECT_TRUE(throws_error([&] { open_export("tiny-smolvlm-fp32", options); },
                           ErrorKind::InvalidArgument, {"optimization level 5"}));
  options = cpu_options();
  options.provider = Provider::Cuda;
  options.device_id = -1;
  EXPECT_TRUE(throws_error([&] { open_export("tiny-smolvlm-fp32", options); },
                           ErrorKind::InvalidArgument, {"device id -1"}));
}

}  // namespace
}  // namespace vlmrt::onnx
#endif
