// What the caller asks of one generation: length, sampling, stopping. Defaults follow
// transformers' GenerationConfig (greedy, temperature 1, top_k 50, top_p 1, no repetition
// penalty), except the length limit, which vlmrt counts in new tokens only (see max_new_tokens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "generation/decoder_session.hpp"

namespace vlmrt {
struct GenerationConfig;
}

namespace vlmrt::gen {

struct GenerationOptions {
  // transformers' default is max_length = 20 positions *including* the prompt, which a VLM prompt
  // (hundreds of image positions) always exceeds; vlmrt keeps the number 20 but counts only new
  // tokens. options_from_generation_config() takes the model's max_new_tokens when it has one;
  // the CLI passes its own. Must be >= 1.
  std::size_t max_new_tokens = 20;

  // false: greedy (argmax after the repetition penalty, ties to the lowest id — MODELS.md §6);
  // temperature, top_k, top_p and min_p are then ignored, as transformers does.
  bool do_sample = false;
  double temperature = 1.0;  // > 0 and finite when sampling; 1 = unchanged
  std::int64_t top_k = 50;   // >= 0; 0 = off. Ties with the k-th logit are kept (transformers)
  double top_p = 1.0;        // in (0, 1]; 1 = off
  double min_p = 0.0;        // in [0, 1]; 0 = off. Relative to the most probable token

  // > 0 and finite; 1 = off. Applied with greedy too (transformers does).
  double repetition_penalty = 1.0;
  // Penalise only ids among the last N of the sequence (prompt + generated); 0 = the whole
  // sequence including the prompt, which is what transformers does.
  std::size_t repetition_window = 0;

  // The sampler's seed; unset = a fresh random seed, reported in GenerationResult::seed.
  std::optional<std::uint64_t> seed;

  // Generation stops when the decoded text contains one of these; the returned and streamed text
  // ends just before it (the ids keep the token that completed it, as transformers does). Must
  // not be empty strings.
  std::vector<std::string> stop_strings;
  // Stop ids from generation_config.json (MODELS.md errata 9), never config.json's eos_token_id.
  // The stop id is appended to the generated ids but not decoded into the text.
  std::vector<TokenId> eos_token_ids;
  bool ignore_eos = false;  // keep going past EOS ids (benchmarks); they are then decoded as text
  // Drop special tokens (e.g. <image>) from the text, as pipelines and most callers do.
  bool skip_special_tokens = true;

  // Cancellation from another thread; checked before each decoder step.
  std::stop_token stop_token;
};

// Throws Error(InvalidArgument) naming the option and its allowed range.
void validate(const GenerationOptions& options);

// Defaults from a model's generation_config.json: stop ids, max_new_tokens, do_sample,
// temperature, top_k, top_p, repetition_penalty; every field it lacks keeps the default above.
// max_length is not used (see max_new_tokens). Throws InvalidArgument for values outside the
// ranges validate() checks.
GenerationOptions options_from_generation_config(const GenerationConfig& config);

}  // namespace vlmrt::gen
