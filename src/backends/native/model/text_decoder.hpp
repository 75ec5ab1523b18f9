// The native CPU text decoder: one decoder block family (Gemma, Gemma2, Llama — MODELS.md
// §3.5–§3.8) executing the family's NetworkSpec over a chunk of positions with a KV cache, and the
// LM head. Nothing here knows which family runs; the spec's switches say everything.
//
// Numerics: every op output is rounded to the model dtype where PyTorch materialises a tensor of
// that dtype (§7.1b), following scripts/reference/decoder.py op by op as PyTorch >= 2 runs it
// (activations in f32 then one rounding, Python scalars as f32, f32 accumulation in every
// matmul), so a bf16 model reproduces that bf16 run up to summation order (bit-identical on the
// tiny fixtures' prefills), and an f32 model matches to ~1e-5. Debian's torch 1.13 differs in
// those three places; scripts/reference/numerics.py emulates PyTorch 2 for the goldens.
//
// Performance: a chunk runs in blocks of up to kDecoderBlockRows rows, each block through each
// weight as one GEMM; only the residual stream and the queries span the whole chunk (the
// prefix-LM mask needs every key of the chunk before any query attends). Every buffer lives in a
// DecoderWorkspace sized once for the worst case, so a decode step allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backends/native/cpu/gemm.hpp"
#include "backends/native/cpu/ops.hpp"
#include "backends/native/model/model_weights.hpp"
#include "core/thread_pool.hpp"
#include "generation/decoder_session.hpp"
#include "models/model_config.hpp"
#include "models/network.hpp"

namespace vlmrt::native {

class TextDecoder;

// Rows per block of a chunk: each GEMM of a prefill sees this many rows at most. Large enough
// for the packed GEMM to run at full speed, small enough that the MLP's [rows, 2·intermediate]
// scratch stays modest for long contexts.
inline constexpr std::size_t kDecoderBlockRows = 256;

// Post-RoPE keys and values of every layer, in the model dtype stored as f32 (MODELS.md §7.7),
// laid out as attention() reads them: per layer K and V of [kv_heads, capacity, head_dim].
class KvCache {
 public:
  KvCache(std::size_t layers, std::size_t kv_heads, std::size_t capacity, std::size_t head_dim);

  std::size_t capacity() const noexcept { return capacity_; }
  float* keys(std::size_t layer) noexcept { return data_.get() + (2 * layer) * layer_size_; }
  float* values(std::size_t layer) noexcept { return data_.get() + (2 * layer + 1) * layer_size_; }

 private:
  std::size_t capacity_;
  std::size_t layer_size_;  // kv_heads · capacity · head_dim
  // Not zero-filled: rows are written before attention reads them, so the pages of a large
  // capacity (a chat's whole context) are only backed by memory once positions are used.
  std::unique_ptr<float[]> data_;
};

// Scratch of one sequence for TextDecoder::forward() and logits(), allocated once for chunks of
// up to `capacity` rows; nothing grows afterwards.
class DecoderWorkspace {
 public:
  DecoderWorkspace(const TextDecoder& decoder, std::size_t capacity, std::size_t threads);

  // The residual stream of the chunk being run, [capacity, hidden]: the caller writes the input
  // embeddings here (image rows merged) and forward() leaves the last layer's output here.
  float* hidden() noexcept { return hidden_.get(); }

 private:
  friend class TextDecoder;

  std::size_t block_rows_;
  // [capacity, H] and [capacity, heads · d] (post-RoPE), uninitialised like the KV cache: sized
  // for a whole-context prompt, backed by memory only as far as a prompt reaches.
  std::size_t hidden_rows_ = 0;
  std::unique_ptr<float[]> hidden_;
  std::unique_ptr<float[]> queries_;
  std::vector<float> normed_;            // [block, H]
  std::vector<float> qkv_;               // [block, (heads + 2 · kv_heads) · d]
  std::vector<float> attended_;          // [block, heads · d]
  std::vector<float> projected_;         // [block, H]: o_proj and down_proj outputs
  std::vector<float> mlp_;               // [block, 2 · intermediate]: gate | up
  std::vector<std::int64_t> positions_;  // [block] RoPE positions
  std::vector<float> attention_scratch_;
};

// A chunk of consecutive positions for forward(): `tokens` rows whose first one goes to cache
// slot `start` (the positions already cached).
struct DecoderChunk {
  std::size_t start = 0;
  std::size_t tokens = 0;
  // Rows [0, bidirectional_prefix) attend to each other both ways (PaliGemma prefix-LM, §3.8);
  // only a chunk with start == 0 may have one.
  std::size_t bidirectional_prefix = 0;
};

class TextDecoder {
 public:
  // Reads every tensor it needs from `weights` once: matrices as zero-copy views into the mapped
  // checkpoint (so `weights` must outlive the decoder), norm vectors and biases as f32 copies.
  // Throws Format naming a tensor whose shape disagrees with `config`, Unsupported for a model
  // the decoder cannot run (head_dim odd or above kMaxRopeHeadDim, heads not a multiple of the
  // KV heads, a dtype other than F32/BF16/F16).
  TextDecoder(const ModelWeights& weights, const ModelConfig& config, const NetworkSpec& spec);

  std::size_t vocab_size() const noexcept { return vocab_size_; }  // LM head rows
  std::size_t hidden_size() const noexcept { return hidden_; }
  std::size_t context_length() const noexcept { return context_length_; }
  std::size_t layers() const noexcept { return layers_.size(); }
  std::size_t heads() const noexcept { return heads_; }
  std::size_t kv_heads() const noexcept { return kv_heads_; }
  std::size_t head_dim() const noexcept { return head_dim_; }
  std::size_t intermediate_size() const noexcept { return intermediate_; }
  // Rows of the embedding table: the ids embed() accepts (besides the image id, see below).
  std::size_t embedding_rows() const noexcept { return embedding_rows_; }
  std::int64_t image_token_id() const noexcept { return image_token_id_; }
  Precision precision() const noexcept { return precision_; }

  // Whether embed() accepts `id`: a row of the table, or the image id (looked up as id 0 when it
  // is outside the table, then overwritten by the caller — reference models.py `_embed`, §4).
  bool embeddable(gen::TokenId id) const noexcept;
  // out[i, :] = the embedding of ids[i] (rows of hidden_size()). Throws InvalidArgument for an
  // id that is not embeddable().
  void embed(std::span<const gen::TokenId> ids, float* out) const;

  // Runs every layer over the chunk whose input embeddings are the first chunk.tokens rows of
  // workspace.hidden() (Gemma's ×sqrt(H) is applied here, after the image rows were merged),
  // writes each layer's post-RoPE K and V at cache slots [start, start + tokens) and leaves the
  // last layer's output (before the final norm) in workspace.hidden(). Allocates nothing.
  void forward(const DecoderChunk& chunk, KvCache& cache, DecoderWorkspace& workspace,
               ThreadPool& pool) const;

  // Final norm and LM head over `rows` rows of `hidden` (rows of hidden_size()): logits
  // [rows, vocab_size()] rounded to the model dtype (then used as f32, §6), then the final-logit
  // softcap when the spec sets one (none does today). `hidden` may be workspace.hidden(); rows
  // run in blocks of the workspace, so any count fits. Allocates nothing.
  void logits(const float* hidden, std::size_t rows, float* out, DecoderWorkspace& workspace,
              ThreadPool& pool) const;

 private:
  struct Layer {
    WeightMatrix q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
    // Llama's optional biases (attention_bias / mlp_bias); empty when absent.
    std::vector<float> q_bias, k_bias, v_bias, o_bias, gate_bias, up_bias, down_bias;
    std::vector<float> input_norm, post_attention_norm;
    std::vector<float> pre_feedforward_norm, post_feedforward_norm;  // sandwich norms only
    std::size_t window = 0;  // sliding window of this layer; 0 = global attention
  };

  void project_block(const Layer& layer, std::size_t layer_index, const DecoderChunk& chunk,
                     std::size_t begin, std::size_t rows, KvCache& cache,
                     DecoderWorkspace& workspace, ThreadPool& pool) const;
  void finish_block(const Layer& layer, std::size_t layer_index, const DecoderChunk& chunk,
                    std::size_t begin, std::size_t rows, KvCache& cache,
                    DecoderWorkspace& workspace, ThreadPool& pool) const;
  void attend_block(const Layer& layer, std::size_t layer_index, const DecoderChunk& chunk,
                    std::size_t begin, std::size_t rows, KvCache& cache,
                    DecoderWorkspace& workspace, ThreadPool& pool) const;
  void run_linear(const float* x, std::size_t rows, std::size_t x_stride, const WeightMatrix& w,
                  const std::vector<float>& bias, float* y, std::size_t y_stride,
                  ThreadPool& pool) const;

  friend class DecoderWorkspace;

  std::size_t hidden_ = 0;
  std::size_t heads_ = 0;
  std::size_t kv_heads_ = 0;
  std::size_t head_dim_ = 0;
  std::size_t intermediate_ = 0;
  std::size_t vocab_size_ = 0;
  std::size_t embedding_rows_ = 0;
  std::size_t context_length_ = 0;
  std::int64_t image_token_id_ = 0;
  std::int64_t position_offset_ = 0;
  float rms_eps_ = 0.0f;
  Precision precision_ = Precision::F32;
  LinearOptions linear_options_;
  RmsNormForm norm_form_ = RmsNormForm::Llama;
  GatedActivation activation_ = GatedActivation::Silu;
  bool sandwich_norms_ = false;
  // Gemma's sqrt(H) as the model dtype holds it (45.25 in bf16 for H = 2048, §3.5); 0 when the
  // family does not scale its embeddings.
  float embedding_multiplier_ = 0.0f;
  double attention_scale_ = 1.0;
  float attention_softcap_ = 0.0f;
  // Off for every family today (transformers v5 does not apply Gemma2's, §3.6); 0 = off.
  float final_logit_softcap_ = 0.0f;
  std::vector<float> no_bias_;  // stays empty

  TensorView embedding_table_;
  std::vector<float> inv_freq_;  // RoPE, head_dim / 2 values
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
  WeightMatrix lm_head_;
};

}  // namespace vlmrt::native
