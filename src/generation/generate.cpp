#include "generation/generate.hpp"

#include <algorithm>
#include <random>

#include "generation/sampler.hpp"
#include "generation/stop_strings.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {

std::string_view to_string(FinishReason reason) noexcept {
  switch (reason) {
    case FinishReason::Eos:
      return "eos";
    case FinishReason::MaxNewTokens:
      return "max_new_tokens";
    case FinishReason::StopString:
      return "stop_string";
    case FinishReason::Cancelled:
      return "cancelled";
    case FinishReason::ContextFull:
      return "context_full";
  }
  return "unknown";
}

}  // namespace vlmrt

namespace vlmrt::gen {

namespace {

using Clock = GenerationTimings::Clock;

double per_second(std::size_t count, Clock::duration duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  return seconds > 0.0 ? static_cast<double>(count) / seconds : 0.0;
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

double GenerationTimings::prefill_tokens_per_s() const noexcept {
  return per_second(prefill_tokens, prefill);
}

double GenerationTimings::decode_tokens_per_s() const noexcept {
  return per_second(decode_tokens, decode);
}

GenerationResult generate(DecoderSession& session, const tok::Tokenizer& tokenizer,
                          const GenerationOptions& options, const StreamCallback& on_text) {
  GenerationResult result;
  GenerationTimings& timings = result.timings;
  timings.start = Clock::now();
  validate(options);

  const std::size_t vocab_size = session.vocab_size();
  if (vocab_size == 0) throw Error(ErrorKind::Backend, "decoder session reports vocab_size 0");
  const std::size_t prompt_length = session.prompt_length();
  if (prompt_length == 0) {
    throw Error(ErrorKind::InvalidArgument,
                "the prompt is empty: generation needs at least one prompt position");
  }
  const std::size_t room = session.context_remaining();
  if (prompt_length > room) {
    throw Error(ErrorKind::LimitExceeded, "the prompt needs " + std::to_string(prompt_length) +
                                              " positions but the context has only " +
                                              std::to_string(room) + " left (context length " +
                                              std::to_string(session.context_length()) + ")");
  }

  result.seed = options.seed ? *options.seed : random_seed();
  Sampler sampler(options, vocab_size, result.seed);
  sampler.reset(session.input_ids());
  tok::StreamingDecoder decoder(tokenizer, options.skip_special_tokens);
  StopStringFilter stops(options.stop_strings);
  // At most one token per free position after the prompt, plus the one chosen from the last.
  result.tokens.reserve(std::min(options.max_new_tokens, room - prompt_length + 1));

  bool streaming = true;  // false once the callback declined more text
  const auto emit = [&](std::string_view piece) {
    if (streaming && !piece.empty() && on_text) streaming = on_text(piece);
  };
  const auto is_eos = [&](TokenId id) {
    return !options.ignore_eos &&
           std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) !=
               options.eos_token_ids.end();
  };

  if (options.stop_token.stop_requested()) {
    result.finish_reason = FinishReason::Cancelled;
    return result;
  }
  const Clock::time_point prefill_start = Clock::now();
  std::span<const float> logits = session.prefill();
  timings.prefill = Clock::now() - prefill_start;
  timings.prefill_tokens = prompt_length;

  Clock::time_point first_token_at;
  Clock::time_point last_token_at;
  FinishReason reason = FinishReason::MaxNewTokens;
  for (;;) {
    if (options.stop_token.stop_requested()) {
      reason = FinishReason::Cancelled;
      break;
    }
    const Clock::time_point pick_start = Clock::now();
    const TokenId token = sampler.select(logits);
    last_token_at = Clock::now();
    timings.sampling += last_token_at - pick_start;
    if (result.tokens.empty()) {
      first_token_at = last_token_at;
      timings.time_to_first_token = first_token_at - timings.start;
    }
    result.tokens.push_back(token);
    sampler.accept(token);

    // HF appends the EOS id to the output ids; it is not text.
    if (is_eos(token)) {
      reason = FinishReason::Eos;
      break;
    }
    const StopStringFilter::Update update = stops.push(decoder.push(token));
    emit(update.release);
    if (update.stopped) {
      reason = FinishReason::StopString;
      break;
    }
    if (!streaming) {
      reason = FinishReason::Cancelled;
      break;
    }
    if (result.tokens.size() >= options.max_new_tokens) {
      reason = FinishReason::MaxNewTokens;
      break;
    }
    if (session.context_remaining() == 0) {
      reason = FinishReason::ContextFull;
      break;
    }
    logits = session.step(token);
    ++timings.decode_tokens;
  }
  if (!result.tokens.empty()) timings.decode = last_token_at - first_token_at;

  if (reason != FinishReason::StopString) {
    // What the decoder still holds (e.g. an unfinished character, shown as U+FFFD as decode()
    // would) and text held back as a possible stop-string start.
    const StopStringFilter::Update tail = stops.push(decoder.flush());
    emit(tail.release);
    if (tail.stopped) {
      if (reason != FinishReason::Cancelled) reason = FinishReason::StopString;
    } else {
      emit(stops.finish().release);
    }
  }
  result.finish_reason = reason;
  result.text = stops.text();
  return result;
}

}  // namespace vlmrt::gen
