// The checks every Sequence::set_prompt makes before it accepts a chunk, in one place so that
// all backends refuse the same inputs with the same messages.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/backend.hpp"

namespace vlmrt::runtime {

// What a sequence can take: free cache positions and what its text model can embed.
struct SequenceLimits {
  std::size_t capacity = 0;  // cache positions in all
  std::size_t cached = 0;    // positions already used
  std::size_t embedding_rows = 0;
  std::int64_t image_token_id = -1;  // always accepted: its row is replaced by image features
  std::size_t hidden_size = 0;
};

// Throws InvalidArgument (empty chunk, an id outside the embedding table, a bidirectional prefix
// longer than the chunk or not at the start of the sequence, image features that do not match
// the image tokens or the hidden size) or LimitExceeded (not enough free positions).
void check_prompt_chunk(const PromptChunk& chunk, const SequenceLimits& limits);

}  // namespace vlmrt::runtime
