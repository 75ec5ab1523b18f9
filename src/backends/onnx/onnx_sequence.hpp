// One decoding sequence on ONNX Runtime, the way transformers.js drives the published merged
// decoder (ONNX-LAYOUT.md "Generation loop"): embed_tokens, image rows merged at the image
// tokens, then decoder_model_merged with zero-length past tensors at the first run and each
// run's present.* fed back as the next run's past_key_values.*. The cache tensors stay where the
// provider produced them (IO binding: device memory on CUDA/TensorRT), in the dtype the graph
// declares, and are never copied through host buffers between steps. Only the last position's
// logits are read (num_logits_to_keep = 1 when the graph has it).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "backends/onnx/decoder_graphs.hpp"
#include "runtime/backend.hpp"

namespace vlmrt::onnx {

class OnnxSequence : public runtime::Sequence {
 public:
  // capacity 0 = the model's context length; InvalidArgument above it.
  OnnxSequence(std::shared_ptr<DecoderGraphs> graphs, std::size_t capacity);

  // gen::DecoderSession
  std::size_t vocab_size() const override { return graphs_->layout.vocab_size; }
  std::size_t context_length() const override { return capacity_; }
  std::size_t context_remaining() const override { return capacity_ - cached_; }
  std::size_t prompt_length() const override { return ids_.size() - cached_; }
  std::span<const gen::TokenId> input_ids() const override { return ids_; }
  // InvalidArgument without a pending prompt; Backend when ONNX Runtime fails.
  std::span<const float> prefill() override;
  // InvalidArgument for an id outside the embedding table or while a prompt is pending,
  // LimitExceeded when the cache is full.
  std::span<const float> step(gen::TokenId token) override;

  // runtime::Sequence
  std::size_t cached_length() const override { return cached_; }
  // Slices every cache tensor to `length` positions (on the host for the CPU provider, with
  // ONNX Runtime's CopyTensors on a device).
  void truncate(std::size_t length) override;
  // Also InvalidArgument for an empty chunk, an id outside the embedding table, a bidirectional
  // prefix longer than the chunk or on a chunk that does not start the cache; Unsupported for a
  // bidirectional prefix on a decoder graph with an attention_mask (such graphs are causal).
  void set_prompt(runtime::PromptChunk chunk) override;

 private:
  // Runs the decoder over `tokens` embedded rows at positions [cached_, cached_ + tokens),
  // replaces the cache with the presents and leaves the last position's logits in logits_.
  void run_decoder(std::span<const float> rows, std::size_t tokens, const char* what);
  std::span<const float> run_prefill();
  std::span<const float> run_step(gen::TokenId token);
  void reset_cache();
  Ort::Value slice_cache(const Ort::Value& full, std::size_t length);

  std::shared_ptr<DecoderGraphs> graphs_;
  std::size_t capacity_;
  std::vector<gen::TokenId> ids_;
  std::size_t cached_ = 0;  // ids_[0, cached_) are in the cache; the rest is pending
  std::size_t pending_prefix_ = 0;
  runtime::ImageFeatures pending_images_;

  std::vector<Ort::Value> cache_;        // one per layout.cache slot, [1, kv, cached_, head_dim]
  std::vector<std::int64_t> mask_ones_;  // capacity_ ones: attention_mask is a prefix of it
  std::vector<std::int64_t> positions_;  // scratch
  std::vector<float> rows_;              // embedded rows of the running chunk
  Ort::IoBinding binding_{nullptr};
  std::vector<float> logits_;
  std::size_t steps_ = 0;  // for error messages
};

}  // namespace vlmrt::onnx
