// The native CPU vision encoder: the SigLIP tower (MODELS.md §3.1, §3.2) and the connector that
// turns its rows into text-model rows (§3.3 PaliGemma projector ÷ sqrt(H), §3.4 Idefics3 pixel
// shuffle + linear), executing the family's NetworkSpec. One class serves all four families.
//
// Numerics: every op output is rounded to the model dtype where PyTorch materialises a tensor of
// that dtype (§7.1b), so a bf16 model reproduces Hugging Face's bf16 run up to GEMM summation
// order; an f32 model matches to ~1e-5.
//
// Performance: all frames' rows go through each weight in one GEMM (rows = frames · patches);
// attention runs per frame over the pool. Activation buffers are members that only grow, so a
// second call of the same size allocates nothing but its result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "backends/native/cpu/gemm.hpp"
#include "backends/native/cpu/ops.hpp"
#include "backends/native/model/model_weights.hpp"
#include "backends/native/model/vision_inputs.hpp"
#include "core/thread_pool.hpp"
#include "models/model_config.hpp"
#include "models/network.hpp"
#include "models/pixel_batch.hpp"
#include "runtime/backend.hpp"

namespace vlmrt::native {

class VisionEncoder {
 public:
  // Reads every tensor it needs from `weights` once, here: matrices as zero-copy views into the
  // mapped checkpoint (so `weights` must outlive the encoder), norm / bias vectors and the
  // position table as f32 copies. Throws Format naming a tensor whose shape disagrees with
  // `config`, Unsupported for a tower the engine cannot run (num_channels != 3, an activation
  // other than gelu_pytorch_tanh).
  VisionEncoder(const ModelWeights& weights, const ModelConfig& config, const NetworkSpec& spec,
                ThreadPool& pool);

  // The tower's post_layernorm output of every real frame of `pixels` ([frames_real, patches,
  // Dv] row-major), rounded to the model dtype, stored as f32. Which frames are real and which
  // patches valid: plan_vision_frames (vision_inputs.hpp). Throws InvalidArgument naming the
  // expected size for pixels that do not fit the config. Not reentrant (member scratch).
  std::vector<float> run_tower(const PixelBatch& pixels);

  // The connector over a tower output of `frames` frames → rows = frames · image_seq_len of
  // width text hidden, rounded to the model dtype. Throws InvalidArgument when tower_out is not
  // frames · patches · Dv values.
  runtime::ImageFeatures connect(std::span<const float> tower_out, int frames);

  // run_tower then connect.
  runtime::ImageFeatures encode(const PixelBatch& pixels);

  // Frames the last run_tower kept (indices into its PixelBatch).
  std::span<const int> last_frames() const noexcept { return plan_.frames; }
  std::size_t patches_per_frame() const noexcept { return patches_; }
  std::size_t hidden_size() const noexcept { return hidden_; }

 private:
  struct Layer {
    std::vector<float> norm1_weight, norm1_bias, norm2_weight, norm2_bias;
    WeightMatrix q, k, v, out, fc1, fc2;
    std::vector<float> q_bias, k_bias, v_bias, out_bias, fc1_bias, fc2_bias;
  };

  void embed(const PixelBatch& pixels);
  void run_layer(const Layer& layer, std::size_t rows);
  void attend(std::size_t frames);
  // Copies a token-major [frames · patches, Dv] projection to head-major [frames, heads,
  // patches, head_dim], the layout attention() reads keys and values in.
  void to_heads(const float* tokens, std::size_t frames, float* heads);
  // y[rows, w.out] = x · Wᵀ + bias, rounded to the model dtype (PyTorch materialises it).
  void project(const float* x, std::size_t rows, const WeightMatrix& w,
               const std::vector<float>& bias, float* y);

  ThreadPool& pool_;
  Precision precision_ = Precision::F32;
  LinearOptions linear_options_;
  VisionConfig vision_;
  bool bucketed_ = false;
  std::size_t hidden_ = 0;  // Dv
  std::size_t inner_ = 0;   // intermediate_size
  std::size_t heads_ = 0;
  std::size_t head_dim_ = 0;
  std::size_t patches_ = 0;  // per frame
  std::size_t grid_ = 0;     // patches per side
  float eps_ = 1e-6f;
  double attention_scale_ = 1.0;

  WeightMatrix patch_weight_;
  std::vector<float> patch_bias_;
  std::vector<float> positions_;  // [patches, Dv] f32
  std::vector<Layer> layers_;
  std::vector<float> post_norm_weight_, post_norm_bias_;

  ConnectorKind connector_ = ConnectorKind::ScaledLinear;
  WeightMatrix connector_weight_;
  std::vector<float> connector_bias_;  // empty = no bias
  double connector_divisor_ = 1.0;
  std::size_t shuffle_scale_ = 1;
  std::size_t image_seq_len_ = 0;
  std::size_t text_hidden_ = 0;

  // Scratch, grown to the largest call and kept.
  VisionFramePlan plan_;
  std::vector<float> x_;         // residual stream [rows, Dv]
  std::vector<float> h_;         // normed input / projection output [rows, Dv]
  std::vector<float> q_;         // [rows, Dv]
  std::vector<float> k_;         // [frames, heads, patches, head_dim]
  std::vector<float> v_;         // [frames, heads, patches, head_dim]
  std::vector<float> attn_;      // attention output [rows, Dv]; k / v before the head-major copy
  std::vector<float> mlp_;       // fc1 output [rows, inner]
  std::vector<float> im2col_;    // one frame's patches
  std::vector<float> shuffled_;  // connector input after the pixel shuffle
  std::vector<float> attention_scratch_;
};

}  // namespace vlmrt::native
