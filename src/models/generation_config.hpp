// generation_config.json: the generation defaults a model folder ships (MODELS.md §6). Every
// field is optional; a present field of the wrong type is a Format error naming file and field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace vlmrt {

struct GenerationConfig {
  std::optional<std::int64_t> bos_token_id;
  // The stop ids (eos_token_id may be one id or a list). These, not config.json's, end generation
  // (MODELS.md errata 9: SmolVLM stops on 49279 <end_of_utterance>).
  std::vector<std::int64_t> eos_token_ids;
  std::optional<std::int64_t> pad_token_id;
  std::optional<std::int64_t> max_length;      // prompt + generated; transformers defaults to 20
  std::optional<std::int64_t> max_new_tokens;  // wins over max_length when both are set
  std::optional<bool> do_sample;
  std::optional<double> temperature;         // >= 0
  std::optional<std::int64_t> top_k;         // >= 0 (0 = off)
  std::optional<double> top_p;               // in (0, 1]
  std::optional<double> repetition_penalty;  // > 0 (1 = off)

  static GenerationConfig from_json(const json::Json& object, const std::string& where);
  static GenerationConfig load(const std::filesystem::path& file);
};

}  // namespace vlmrt
