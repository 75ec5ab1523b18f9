// What the caller asks of one generation: length, sampling, stopping. Defaults follow
// transformers' GenerationConfig (greedy, temperature 1, top_k 50, top_p 1, no repetition
// penalty), except the length limit, which vlmrt counts in new tokens only (see max_new_tokens).
#pragma once

#include "generation/decoder_session.hpp"
#include "vlmrt/generation.hpp"

namespace vlmrt {
struct GenerationConfig;
}

namespace vlmrt::gen {

using vlmrt::GenerationOptions;

// Throws Error(InvalidArgument) naming the option and its allowed range.
void validate(const GenerationOptions& options);

// Defaults from a model's generation_config.json: stop ids, max_new_tokens, do_sample,
// temperature, top_k, top_p, repetition_penalty; every field it lacks keeps the default above.
// max_length is not used (see max_new_tokens). Throws InvalidArgument for values outside the
// ranges validate() checks.
GenerationOptions options_from_generation_config(const GenerationConfig& config);

}  // namespace vlmrt::gen
