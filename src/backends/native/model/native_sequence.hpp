// One decoding sequence of the native engine: a KV cache and scratch sized once for `capacity`
// positions, driven through runtime::Sequence (prompt chunks with merged image rows, prefill,
// step, truncate for multi-turn reuse). The decoder is shared and immutable; everything mutable
// is here, so sequences of one model run independently (one thread each).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "backends/native/model/text_decoder.hpp"
#include "core/thread_pool.hpp"
#include "runtime/backend.hpp"

namespace vlmrt::native {

class NativeSequence : public runtime::Sequence {
 public:
  // capacity 0 = decoder.context_length(). Allocates the KV cache and every scratch buffer here,
  // sized for the worst case (a prompt filling the whole cache), so step() never allocates and
  // prefill() allocates nothing but the GEMM's reusable per-thread panels. Throws
  // InvalidArgument for a capacity above the model's context length.
  NativeSequence(std::shared_ptr<const TextDecoder> decoder, std::size_t capacity,
                 ThreadPool& pool);

  // gen::DecoderSession
  std::size_t vocab_size() const override { return decoder_->vocab_size(); }
  std::size_t context_length() const override { return capacity_; }
  std::size_t context_remaining() const override { return capacity_ - cached_; }
  std::size_t prompt_length() const override { return ids_.size() - cached_; }
  // Cached ids (earlier turns and the tokens step() appended) followed by the pending prompt.
  std::span<const gen::TokenId> input_ids() const override { return ids_; }
  // Throws InvalidArgument when no prompt is pending.
  std::span<const float> prefill() override;
  // Throws InvalidArgument for an id the embedding table does not hold or while a prompt is
  // pending (prefill it first), LimitExceeded when the cache is full.
  std::span<const float> step(gen::TokenId token) override;

  // runtime::Sequence
  std::size_t cached_length() const override { return cached_; }
  void truncate(std::size_t length) override;
  // Also throws InvalidArgument for an empty chunk, an id outside the embedding table, or a
  // bidirectional prefix longer than the chunk or on a chunk that does not start the cache.
  void set_prompt(runtime::PromptChunk chunk) override;

  // For golden tests: prefills the pending prompt like prefill() and returns the logits of EVERY
  // position of it ([prompt_length, vocab] row-major) instead of the last one only.
  std::vector<float> prefill_all_logits();

 private:
  // Embeds the pending prompt, merges its image rows and runs the decoder over it; the hidden
  // rows are left in the workspace. Returns the prompt length.
  std::size_t run_pending_prompt();

  std::shared_ptr<const TextDecoder> decoder_;
  std::size_t capacity_;
  ThreadPool& pool_;
  KvCache cache_;
  DecoderWorkspace workspace_;
  std::vector<gen::TokenId> ids_;  // reserved to capacity_: step() never reallocates it
  std::size_t cached_ = 0;         // ids_[0, cached_) are in the cache; the rest is pending
  std::size_t pending_prefix_ = 0;
  runtime::ImageFeatures pending_images_;
  std::vector<float> logits_;
};

}  // namespace vlmrt::native
