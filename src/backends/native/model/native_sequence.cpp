#include "backends/native/model/native_sequence.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "runtime/prompt_checks.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

const TextDecoder& checked(const std::shared_ptr<const TextDecoder>& decoder) {
  if (!decoder) throw Error(ErrorKind::InvalidArgument, "NativeSequence: no decoder given");
  return *decoder;
}

std::size_t resolve_capacity(const TextDecoder& decoder, std::size_t capacity) {
  if (capacity == 0) return decoder.context_length();
  if (capacity > decoder.context_length())
    throw Error(ErrorKind::InvalidArgument,
                "a sequence of " + std::to_string(capacity) +
                    " positions exceeds the model's context length of " +
                    std::to_string(decoder.context_length()) + " (max_position_embeddings)");
  return capacity;
}

}  // namespace

NativeSequence::NativeSequence(std::shared_ptr<const TextDecoder> decoder, std::size_t capacity,
                               ThreadPool& pool)
    : decoder_(std::move(decoder)),
      capacity_(resolve_capacity(checked(decoder_), capacity)),
      pool_(pool),
      cache_(decoder_->layers(), decoder_->kv_heads(), capacity_, decoder_->head_dim()),
      workspace_(*decoder_, capacity_, pool.size()),
      logits_(decoder_->vocab_size()) {
  ids_.reserve(capacity_);
}

void NativeSequence::truncate(std::size_t length) {
  if (length > cached_)
    throw Error(ErrorKind::InvalidArgument, "cannot truncate a sequence to " +
                                                std::to_string(length) + " positions: only " +
                                                std::to_string(cached_) + " are cached");
  // Slots from `length` on are simply overwritten by the next chunk.
  cached_ = length;
  ids_.resize(length);
  pending_prefix_ = 0;
  pending_images_ = {};
}

void NativeSequence::set_prompt(runtime::PromptChunk chunk) {
  const TextDecoder& decoder = *decoder_;
  runtime::check_prompt_chunk(chunk, {.capacity = capacity_,
                                      .cached = cached_,
                                      .embedding_rows = decoder.embedding_rows(),
                                      .image_token_id = decoder.image_token_id(),
                                      .hidden_size = decoder.hidden_size()});
  ids_.resize(cached_);  // a prompt set earlier and never run is replaced
  ids_.insert(ids_.end(), chunk.ids.begin(), chunk.ids.end());
  pending_prefix_ = chunk.bidirectional_prefix;
  pending_images_ = std::move(chunk.images);
}

std::size_t NativeSequence::run_pending_prompt() {
  const std::size_t length = prompt_length();
  if (length == 0)
    throw Error(ErrorKind::InvalidArgument,
                "prefill() without a pending prompt (call set_prompt() first)");
  const TextDecoder& decoder = *decoder_;
  const std::size_t hidden = decoder.hidden_size();
  const std::span<const gen::TokenId> ids = std::span<const gen::TokenId>(ids_).subspan(cached_);
  float* rows = workspace_.hidden();
  decoder.embed(ids, rows);
  // Image rows replace the placeholders in order, before Gemma's ×sqrt(H) (MODELS.md §4).
  std::size_t image_row = 0;
  for (std::size_t i = 0; i < length && image_row < pending_images_.rows; ++i) {
    if (ids[i] != decoder.image_token_id()) continue;
    std::memcpy(rows + i * hidden, pending_images_.values.data() + image_row * hidden,
                hidden * sizeof(float));
    ++image_row;
  }
  DecoderChunk chunk;
  chunk.start = cached_;
  chunk.tokens = length;
  chunk.bidirectional_prefix = pending_prefix_;
  decoder.forward(chunk, cache_, workspace_, pool_);
  cached_ += length;
  pending_prefix_ = 0;
  pending_images_ = {};
  return length;
}

std::span<const float> NativeSequence::prefill() {
  const std::size_t length = run_pending_prompt();
  // Only the last position's logits are needed to continue.
  decoder_->logits(workspace_.hidden() + (length - 1) * decoder_->hidden_size(), 1, logits_.data(),
                   workspace_, pool_);
  return logits_;
}

std::vector<float> NativeSequence::prefill_all_logits() {
  const std::size_t length = run_pending_prompt();
  const std::size_t vocab = decoder_->vocab_size();
  std::vector<float> all(length * vocab);
  decoder_->logits(workspace_.hidden(), length, all.data(), workspace_, pool_);
  std::copy(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end(), logits_.begin());
  return all;
}

std::span<const float> NativeSequence::step(gen::TokenId token) {
  if (prompt_length() != 0)
    throw Error(ErrorKind::InvalidArgument, "step() while a prompt of " +
                                                std::to_string(prompt_length()) +
                                                " ids is pending (call prefill() first)");
  if (cached_ >= capacity_)
    throw Error(ErrorKind::LimitExceeded, "the sequence is full: all " + std::to_string(capacity_) +
                                              " positions of its cache are used");
  if (!decoder_->embeddable(token))
    throw Error(ErrorKind::InvalidArgument,
                "token id " + std::to_string(token) + " is outside the embedding table (" +
                    std::to_string(decoder_->embedding_rows()) + " rows)");
  // A generated image id gets its ordinary embedding: features are merged only at prefill (§3.8).
  decoder_->embed(std::span<const gen::TokenId>(&token, 1), workspace_.hidden());
  DecoderChunk chunk;
  chunk.start = cached_;
  chunk.tokens = 1;
  decoder_->forward(chunk, cache_, workspace_, pool_);
  ids_.push_back(token);  // within the reserved capacity: no allocation
  ++cached_;
  decoder_->logits(workspace_.hidden(), 1, logits_.data(), workspace_, pool_);
  return logits_;
}

}  // namespace vlmrt::native
