#include "generation/options.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "models/generation_config.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::gen {

namespace {

template <typename T>
[[noreturn]] void reject(std::string_view option, std::string_view expected, T value) {
  std::ostringstream message;
  message << "generation option '" << option << "' must be " << expected << ", got " << value;
  throw Error(ErrorKind::InvalidArgument, message.str());
}

}  // namespace

void validate(const GenerationOptions& o) {
  if (o.max_new_tokens == 0) reject("max_new_tokens", "at least 1", o.max_new_tokens);
  if (o.do_sample) {
    if (!std::isfinite(o.temperature) || o.temperature <= 0.0) {
      reject("temperature", "a finite value > 0 when sampling (do_sample; use greedy for 0)",
             o.temperature);
    }
  }
  if (o.top_k < 0) reject("top_k", ">= 0 (0 turns top-k off)", o.top_k);
  if (!(o.top_p > 0.0 && o.top_p <= 1.0)) reject("top_p", "in (0, 1] (1 turns top-p off)", o.top_p);
  if (!(o.min_p >= 0.0 && o.min_p <= 1.0))
    reject("min_p", "in [0, 1] (0 turns min-p off)", o.min_p);
  if (!std::isfinite(o.repetition_penalty) || o.repetition_penalty <= 0.0) {
    reject("repetition_penalty", "a finite value > 0 (1 turns it off)", o.repetition_penalty);
  }
  for (std::size_t i = 0; i < o.stop_strings.size(); ++i) {
    if (o.stop_strings[i].empty()) {
      throw Error(ErrorKind::InvalidArgument,
                  "generation option 'stop_strings': entry " + std::to_string(i) +
                      " is empty; a stop string needs at least one character");
    }
  }
  for (const TokenId id : o.eos_token_ids) {
    if (id < 0) reject("eos_token_ids", "non-negative token ids", id);
  }
}

GenerationOptions options_from_generation_config(const GenerationConfig& config) {
  GenerationOptions o;
  for (const std::int64_t id : config.eos_token_ids) {
    if (id < 0 || id > std::numeric_limits<TokenId>::max()) {
      reject("eos_token_ids (generation_config.json eos_token_id)", "a 32-bit token id", id);
    }
    o.eos_token_ids.push_back(static_cast<TokenId>(id));
  }
  if (config.max_new_tokens) {
    if (*config.max_new_tokens < 1) {
      reject("max_new_tokens (generation_config.json)", "at least 1", *config.max_new_tokens);
    }
    o.max_new_tokens = static_cast<std::size_t>(*config.max_new_tokens);
  }
  if (config.do_sample) o.do_sample = *config.do_sample;
  if (config.temperature) o.temperature = *config.temperature;
  if (config.top_k) o.top_k = *config.top_k;
  if (config.top_p) o.top_p = *config.top_p;
  if (config.repetition_penalty) o.repetition_penalty = *config.repetition_penalty;
  validate(o);
  return o;
}

}  // namespace vlmrt::gen
