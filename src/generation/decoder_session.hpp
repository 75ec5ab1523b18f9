// The seam between the generation loop and a backend (DESIGN.md "Seams"; CONVENTIONS.md "model,
// generator, search are separate"): a backend computes logits, the loop owns stopping and
// streaming, the sampler turns logits into tokens. Nothing here knows which backend runs, and no
// backend sees sampling options or the tokenizer.
#pragma once

#include <cstddef>
#include <span>

#include "tokenizer/tokenizer.hpp"

namespace vlmrt::gen {

using TokenId = tok::TokenId;

// One decoding sequence with its KV cache. The backend sets up the prompt (token ids with image
// features merged at the placeholders) before handing the session to generate(); generate() then
// calls prefill() exactly once and step() once per further token. Backend failures are thrown as
// vlmrt::Error(ErrorKind::Backend, ...).
class DecoderSession {
 public:
  virtual ~DecoderSession() = default;

  // The number of logits per position (the LM head's output size; may exceed the tokenizer's
  // vocabulary, e.g. padded embedding tables).
  virtual std::size_t vocab_size() const = 0;
  // Positions the KV cache holds in all (the model's context length or a smaller cache).
  virtual std::size_t context_length() const = 0;
  // Positions still free now: before prefill() that is the room for the prompt, after it the room
  // for generated tokens. Every step() consumes one.
  virtual std::size_t context_remaining() const = 0;
  // Positions prefill() will add: the pending prompt's length, image placeholders included.
  virtual std::size_t prompt_length() const = 0;
  // Every id in the sequence before generation starts — what transformers passes as `input_ids`
  // to its logits processors: earlier turns already in the cache (multi-turn reuse) plus the
  // pending prompt, image placeholder ids included. The repetition penalty's history starts here.
  virtual std::span<const TokenId> input_ids() const = 0;

  // Runs the pending prompt; returns the logits (vocab_size() floats) of its last position,
  // valid until the next call on this session.
  virtual std::span<const float> prefill() = 0;
  // Appends `token` at the next position; returns the logits for the position after it, valid
  // until the next call. Called only while context_remaining() > 0.
  virtual std::span<const float> step(TokenId token) = 0;
};

}  // namespace vlmrt::gen
