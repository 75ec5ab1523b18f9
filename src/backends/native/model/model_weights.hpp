// The weights of one model for the native engine: the checkpoint memory-mapped and checked
// against what the config implies (every tensor present, every shape right) before anything runs,
// then handed out as zero-copy views in their stored dtype. Only 1-D parameters (norm scales,
// biases) are copied, to f32, because the ops take them that way.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "backends/native/cpu/gemm.hpp"
#include "core/safetensors.hpp"
#include "models/model_config.hpp"

namespace vlmrt::native {

class ModelWeights {
 public:
  // Opens the safetensors of `model_dir` (single file or sharded) and checks the inventory.
  // Throws NotFound when there are no weights, Format naming the first missing / wrong-shape /
  // unexpected tensors, Unsupported for a weight dtype the engine cannot run (not F32/BF16/F16).
  static ModelWeights open(const std::filesystem::path& model_dir, const ModelConfig& config);

  // A 2-D tensor (or a conv kernel [out, c, p, p] viewed as [out, c·p·p]) as a WeightMatrix.
  // `name` is canonical; legacy PaliGemma spellings in the checkpoint are found too.
  WeightMatrix matrix(std::string_view name) const;
  // A 1-D tensor copied to f32 (exact for bf16/f16).
  std::vector<float> vector_f32(std::string_view name) const;
  // The raw view, for tables read row by row (embeddings).
  TensorView view(std::string_view name) const;

  const Checkpoint& checkpoint() const noexcept { return checkpoint_; }

 private:
  ModelWeights(Checkpoint checkpoint, ModelFamily family)
      : checkpoint_(std::move(checkpoint)), family_(family) {}

  Checkpoint checkpoint_;
  ModelFamily family_;
};

}  // namespace vlmrt::native
