// Everything vlmrt reads from a Hugging Face model folder before touching weights: config.json
// (required), generation_config.json, tokenizer_config.json + chat template, and which of the
// expected files are present.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "models/generation_config.hpp"
#include "models/model_config.hpp"
#include "models/tokenizer_config.hpp"

namespace vlmrt {

struct ModelFolder {
  std::filesystem::path dir;
  ModelConfig config;
  std::optional<GenerationConfig> generation;  // when generation_config.json exists
  TokenizerConfig tokenizer;                   // empty when tokenizer_config.json is absent

  // Expected files found / not found, in a fixed order (config.json, generation_config.json,
  // tokenizer.json, tokenizer_config.json, special_tokens_map.json, preprocessor_config.json,
  // processor_config.json, the chat template (Idefics3 only), the weights). The weights appear
  // as "model.safetensors" when absent, else as the index and/or the files found.
  std::vector<std::string> present_files;
  std::vector<std::string> missing_files;
  std::vector<std::string> weight_files;  // *.safetensors and model.safetensors.index.json, sorted

  bool has_weights() const noexcept { return !weight_files.empty(); }
  bool has_file(std::string_view name) const;

  // The ids that end generation: generation_config.json's eos when given, else config.json's
  // (MODELS.md errata 9).
  std::vector<std::int64_t> stop_token_ids() const;
  // "generation_config.json" or "config.json" (or "none"): where stop_token_ids() came from.
  std::string_view stop_token_source() const;

  // Throws NotFound when `dir` is not a folder or has no config.json; a present file that is
  // malformed throws its Format error (naming the file and field).
  static ModelFolder inspect(const std::filesystem::path& dir);
};

}  // namespace vlmrt
