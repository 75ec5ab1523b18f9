// vlmrt — what a caller asks of one generation (length, sampling, stopping) and how it ended.
// Defaults follow transformers' GenerationConfig (greedy, temperature 1, top_k 50, top_p 1, no
// repetition penalty), except the length limit, which vlmrt counts in new tokens only.
// VlmModel::default_options() returns these defaults overlaid with the model's
// generation_config.json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace vlmrt {

struct GenerationOptions {
  // transformers' default is max_length = 20 positions *including* the prompt, which a VLM prompt
  // (hundreds of image positions) always exceeds; vlmrt keeps the number 20 but counts only new
  // tokens. Must be >= 1.
  std::size_t max_new_tokens = 20;

  // false: greedy (argmax after the repetition penalty, ties to the lowest id); temperature,
  // top_k, top_p and min_p are then ignored, as transformers does.
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

  // The sampler's seed; unset = a fresh random seed, reported in the result.
  std::optional<std::uint64_t> seed;

  // Generation stops when the decoded text contains one of these; the returned and streamed text
  // ends just before it (the ids keep the token that completed it, as transformers does). Must
  // not be empty strings.
  std::vector<std::string> stop_strings;
  // Ids that end generation. VlmModel fills them from generation_config.json when left empty
  // (never config.json's eos_token_id when the former has one). The stop id is appended to the
  // generated ids but not decoded into the text.
  std::vector<std::int32_t> eos_token_ids;
  bool ignore_eos = false;  // keep going past EOS ids (benchmarks); they are then decoded as text
  // Drop special tokens (e.g. <image>) from the text, as pipelines and most callers do.
  bool skip_special_tokens = true;

  // Cancellation from another thread; checked before each decoder step.
  std::stop_token stop_token;
};

enum class FinishReason {
  Eos,           // an id from eos_token_ids was generated
  MaxNewTokens,  // max_new_tokens ids were generated
  StopString,    // the text reached a stop string
  Cancelled,     // the stream callback returned false, or the stop_token was triggered
  ContextFull,   // the KV cache has no position left for another step
};

// "eos", "max_new_tokens", "stop_string", "cancelled", "context_full".
std::string_view to_string(FinishReason reason) noexcept;

// Receives each piece of text as soon as it is final (whole UTF-8 characters, never part of a
// stop string). Return false to stop generation (FinishReason::Cancelled). May be empty.
using StreamCallback = std::function<bool(std::string_view piece)>;

}  // namespace vlmrt
