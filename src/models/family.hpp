// Which model family a Hugging Face folder holds, from config.json's model_type fields.
#pragma once

#include <filesystem>
#include <string_view>

#include "core/json.hpp"

namespace vlmrt {

enum class ModelFamily {
  PaliGemma,   // model_type "paligemma", text model Gemma
  PaliGemma2,  // model_type "paligemma", text model Gemma2
  Idefics3,    // model_type "idefics3": SmolVLM (v1)
  SmolVlm,     // model_type "smolvlm": SmolVLM2
};

std::string_view family_name(ModelFamily family) noexcept;  // "PaliGemma", "Idefics3 (SmolVLM)"
// The API's identifier: "paligemma", "paligemma2", "idefics3" (SmolVLM) or "smolvlm" (SmolVLM2).
std::string_view family_id(ModelFamily family) noexcept;
bool is_paligemma(ModelFamily family) noexcept;
bool is_idefics3_like(ModelFamily family) noexcept;  // Idefics3 or SmolVlm: same math and processor

// Throws Unsupported naming the model_type for anything else; `where` labels errors.
ModelFamily detect_family(const json::Json& config, const std::string& where = "config.json");
ModelFamily detect_family(const std::filesystem::path& model_dir);

}  // namespace vlmrt
