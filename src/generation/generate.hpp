// The generation loop: prefill, then pick a token, stream its text, check the stopping rules and
// step the decoder until one of them ends the sequence. Backend-independent: it sees only a
// DecoderSession (logits), the Tokenizer (text) and the options.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "generation/decoder_session.hpp"
#include "generation/options.hpp"
#include "tokenizer/tokenizer.hpp"

namespace vlmrt::gen {

using vlmrt::FinishReason;

// steady_clock measurements of one generate() call, for vlmrt::Stats.
struct GenerationTimings {
  using Clock = std::chrono::steady_clock;
  Clock::time_point start;                // generate() entered
  Clock::duration time_to_first_token{};  // start → first token chosen (prefill + first pick)
  Clock::duration prefill{};              // inside session.prefill()
  Clock::duration decode{};               // first token chosen → last token chosen
  Clock::duration sampling{};             // inside the sampler, all tokens
  std::size_t prefill_tokens = 0;         // positions prefilled (session.prompt_length())
  std::size_t decode_tokens = 0;          // session.step() calls (tokens after the first)

  double prefill_tokens_per_s() const noexcept;
  double decode_tokens_per_s() const noexcept;
};

struct GenerationResult {
  // The generated text: every piece streamed, concatenated (except after cancellation, see
  // generate()). Excludes EOS and the first stop string and anything after it.
  std::string text;
  // Every generated id, as transformers returns them: a final EOS id is included, so is the
  // token that completed a stop string.
  std::vector<TokenId> tokens;
  FinishReason finish_reason = FinishReason::MaxNewTokens;
  std::uint64_t seed = 0;  // the seed the sampler used (options.seed or a random one)
  GenerationTimings timings;
};

using vlmrt::StreamCallback;

// Runs one generation on a session whose prompt the backend has set up.
// Errors: InvalidArgument for bad options (validate()) or an empty prompt; LimitExceeded when the
// prompt alone needs more positions than the session has left; Backend errors from the session
// or for unusable logits pass through. Running out of positions *during* generation is not an
// error: it ends with FinishReason::ContextFull.
// After a cancellation the callback is not called again; `text` then still holds all text decoded
// from `tokens` (up to a stop string), which may extend past the last streamed piece.
GenerationResult generate(DecoderSession& session, const tok::Tokenizer& tokenizer,
                          const GenerationOptions& options, const StreamCallback& on_text = {});

}  // namespace vlmrt::gen
