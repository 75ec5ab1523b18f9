// The ONNX Runtime backend (DESIGN.md "src/backends/onnx/"): runs a model folder exported in the
// published three-graph layout (ONNX-LAYOUT.md: onnx/vision_encoder, embed_tokens,
// decoder_model_merged, each in dtype variants) on ONNX Runtime's CPU, CUDA or TensorRT
// execution provider. Compiled only when ONNX Runtime is installed (VLMRT_WITH_ONNXRUNTIME);
// this header includes no ONNX Runtime header.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "models/model_folder.hpp"
#include "runtime/backend.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt::onnx {

struct OnnxBackendOptions {
  enum class Provider { Cpu, Cuda, TensorRt };
  Provider provider = Provider::Cpu;
  int device_id = 0;        // CUDA device (Provider::Cuda); TensorRT uses tensorrt.device_id
  TensorRtConfig tensorrt;  // Provider::TensorRt only
  std::size_t threads = 0;  // intra-op threads; 0 = ONNX Runtime's default (the physical cores)
  // ONNX Runtime's GraphOptimizationLevel values: 0 none, 1 basic, 2 extended, 99 all.
  int graph_optimization_level = 99;
  // When the CUDA/TensorRT provider library or the GPU is missing, run on the CPU provider
  // instead (a warning goes to stderr and name() says so) rather than failing.
  bool allow_cpu_fallback = false;
  // The variant of each graph: key "vision" | "embed" | "decoder" (or the graph's base name,
  // e.g. "decoder_model_merged"), value fp32 | fp16 | q8 (alias quantized) | int8 | uint8 | q4 |
  // q4f16 | bnb4. A graph not named here uses fp32.
  std::map<std::string, std::string> dtypes;
};

// Opens `folder`/onnx/ on the chosen provider. Errors (vlmrt::Error):
//   NotFound        no onnx/ folder, or no file for a chosen variant (the message lists the
//                   variants found for that graph);
//   InvalidArgument an unknown dtypes key or variant name, a bad optimization level;
//   Format          a truncated or corrupt .onnx (ONNX Runtime's message with the path), inputs
//                   or outputs with unexpected names, ranks, dtypes or sizes that disagree with
//                   config.json;
//   Unsupported     this ONNX Runtime build has no CUDA / TensorRT provider, or a graph uses ops
//                   it does not implement;
//   Backend         the provider library, driver or GPU failed to load.
// With allow_cpu_fallback, a missing provider / GPU falls back to the CPU provider instead.
std::unique_ptr<runtime::ModelBackend> open_onnx_backend(const ModelFolder& folder,
                                                         const OnnxBackendOptions& options);

// "1.29.0": the ONNX Runtime library loaded at run time.
std::string onnxruntime_version();

}  // namespace vlmrt::onnx
