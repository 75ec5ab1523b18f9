// The seam between the shared pipeline (processor, tokenizer, generation loop) and an inference
// backend (DESIGN.md "the flow of one request"): a backend answers "encode these pixel frames"
// and "run the decoder over this prompt with this cache"; everything else is shared, which is
// what makes outputs comparable across backends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "generation/decoder_session.hpp"
#include "models/pixel_batch.hpp"

namespace vlmrt::runtime {

// What the connector produced for the `<image>` rows of a prompt, in prompt order: `rows` rows of
// `width` (the text hidden size) f32 values, already rounded to the model dtype.
struct ImageFeatures {
  std::vector<float> values;
  std::size_t rows = 0;
  std::size_t width = 0;
  int frames = 0;  // vision frames (tiles) that were encoded
};

// The part of a prompt a sequence has not run yet.
struct PromptChunk {
  std::vector<gen::TokenId> ids;
  // PaliGemma's prefix-LM (MODELS.md §3.8): the first `bidirectional_prefix` ids of this chunk
  // attend to each other both ways (token_type_ids = 0); 0 = causal throughout. Only a chunk that
  // starts at an empty cache may have one.
  std::size_t bidirectional_prefix = 0;
  // One row per image-token id in `ids`, in order. Empty when the chunk has no image tokens.
  ImageFeatures images;
};

// One decoding sequence: a DecoderSession (what generate() drives) plus the cache control that
// multi-turn chat needs.
class Sequence : public gen::DecoderSession {
 public:
  // Positions already in the cache.
  virtual std::size_t cached_length() const = 0;
  // Forgets cached positions from `length` on (a new turn diverged from the cached text there),
  // and any pending prompt. length > cached_length() throws InvalidArgument.
  virtual void truncate(std::size_t length) = 0;
  // Sets the prompt the next prefill() runs, after the cached positions. Throws InvalidArgument
  // when the image rows do not match the image-token ids or the width is wrong, LimitExceeded
  // when the chunk does not fit in the cache.
  virtual void set_prompt(PromptChunk chunk) = 0;
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  // What really runs, e.g. "native-cpu (avx512-bf16, 2 threads)".
  virtual std::string name() const = 0;
  virtual bool supports_batch() const = 0;
  // Vision tower + connector over every real frame of `pixels`.
  virtual ImageFeatures encode_images(const PixelBatch& pixels) = 0;
  // A fresh sequence holding up to `capacity` positions (0 = the model's context length).
  virtual std::unique_ptr<Sequence> new_sequence(std::size_t capacity) = 0;
};

}  // namespace vlmrt::runtime
