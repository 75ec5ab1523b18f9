// Typed config.json of a Hugging Face PaliGemma / PaliGemma2 / Idefics3 (SmolVLM) / SmolVLM2
// folder: the numbers every other part of vlmrt sizes itself from (MODELS.md §1).
//
// Parsing throws vlmrt::Error: Format naming the file and field for a missing required field, a
// mistyped field or an inconsistent size; Unsupported for a model_type (or RoPE scaling) vlmrt
// does not run. Fields a real config may omit take these defaults:
//
//   vision, Idefics3 / SmolVLM (Idefics3VisionConfig class defaults, MODELS.md errata 10 — not
//   the "in practice" values of §1.2, which real configs spell out anyway): hidden_size 1152,
//   intermediate_size 3072, num_hidden_layers 12, num_attention_heads 16, image_size 224,
//   patch_size 32, num_channels 3, layer_norm_eps 1e-6, hidden_act gelu_pytorch_tanh.
//   vision, PaliGemma (SigLIP): hidden/intermediate/layers/heads/patch required (every real config
//   has them; the class defaults describe a different model); image_size 224, num_channels 3,
//   layer_norm_eps 1e-6, hidden_act gelu_pytorch_tanh.
//   text, gemma / gemma2: head_dim 256, rms_norm_eps 1e-6, rope_theta 10000,
//   max_position_embeddings 8192, hidden_activation gelu_pytorch_tanh (Gemma ignores hidden_act);
//   gemma2 also query_pre_attn_scalar 256, attn_logit_softcapping 50, final_logit_softcapping 30,
//   sliding_window 4096 (an explicit null disables a softcap / the window).
//   text, llama: num_key_value_heads = num_attention_heads, head_dim = hidden / heads,
//   rms_norm_eps 1e-6, rope_theta 10000, max_position_embeddings 2048, hidden_act silu.
//   Required in every text_config: hidden_size, intermediate_size, num_hidden_layers,
//   num_attention_heads, vocab_size; gemma/gemma2 also num_key_value_heads.
//   top level: image_token_id (alias image_token_index) and, for Idefics3, scale_factor are
//   required; dtype (or torch_dtype) defaults to float32; tie_word_embeddings defaults to true
//   for PaliGemma, false for Idefics3.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/json.hpp"
#include "models/family.hpp"

namespace vlmrt {

// The SigLIP-style vision tower shared by all four families (MODELS.md §3.1, §3.2).
struct VisionConfig {
  std::string model_type;  // "siglip_vision_model", "idefics3", "smolvlm_vision" or "" (absent)
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_channels = 3;
  std::int64_t image_size = 0;
  std::int64_t patch_size = 0;
  double layer_norm_eps = 1e-6;
  std::string hidden_act = "gelu_pytorch_tanh";

  std::int64_t head_dim() const noexcept { return hidden_size / num_attention_heads; }
  // The valid conv floors: 384/14 gives 27 and the last 6 pixels are ignored (MODELS.md §1.2).
  std::int64_t patches_per_side() const noexcept { return image_size / patch_size; }
  std::int64_t num_patches() const noexcept { return patches_per_side() * patches_per_side(); }
};

// The three decoder variants differ by a few switches (CONVENTIONS.md: one decoder block family).
enum class TextArchitecture { Gemma, Gemma2, Llama };

struct TextConfig {
  std::string model_type;  // "gemma", "gemma2", "llama"
  TextArchitecture architecture = TextArchitecture::Llama;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;   // from rope_theta or rope_parameters.rope_theta (transformers v5)
  std::string rope_theta_field;  // which field it came from ("" when defaulted)
  std::string hidden_act;        // hidden_activation for Gemma, hidden_act for Llama
  bool attention_bias = false;   // Llama's q/k/v/o biases (false in every SmolVLM)
  bool mlp_bias = false;
  // Gemma2 only (MODELS.md §3.6); nullopt = not applied.
  std::optional<double> query_pre_attn_scalar;
  std::optional<double> attn_logit_softcapping;
  std::optional<double> final_logit_softcapping;
  std::optional<std::int64_t> sliding_window;
};

std::string_view text_architecture_name(TextArchitecture architecture) noexcept;

struct ModelConfig {
  ModelFamily family = ModelFamily::Idefics3;
  std::string model_type;   // top-level: "paligemma", "idefics3", "smolvlm"
  std::string dtype_name;   // as written ("bfloat16"), "float32" when absent
  std::string dtype_field;  // "dtype", "torch_dtype", "text_config.torch_dtype" or "" (default)
  DType dtype = DType::F32;
  VisionConfig vision;
  TextConfig text;

  std::int64_t image_token_id = 0;
  std::int64_t scale_factor = 1;  // Idefics3 pixel shuffle; 1 for PaliGemma (no shuffle)
  // Image tokens the text model sees per image (PaliGemma: (S/p)^2) or per tile (Idefics3:
  // (S/p)^2 / scale^2) — MODELS.md §1.2 derivations.
  std::int64_t image_seq_len = 0;
  std::int64_t projection_dim = 0;  // connector output width; always the text hidden size
  bool tie_word_embeddings = false;

  // Special ids from config.json (top level for PaliGemma, text_config for Idefics3). Do NOT stop
  // generation on these: generation_config.json's eos wins (MODELS.md errata 9).
  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;
  std::optional<std::int64_t> pad_token_id;

  // Quirks that were tolerated (stale top-level hidden_size, out-of-vocabulary pad id, ...), one
  // human-readable sentence each, for `vlmrt info`.
  std::vector<std::string> notes;

  // Idefics3 connector input width: vision hidden · scale² (12288 for the 512/16 models).
  std::int64_t connector_input_dim() const noexcept {
    return vision.hidden_size * scale_factor * scale_factor;
  }

  // `where` names the file in errors (e.g. the path of config.json).
  static ModelConfig from_json(const json::Json& config, const std::string& where);
  // Reads `location` when it names a .json file, else `location`/config.json.
  static ModelConfig load(const std::filesystem::path& location);
};

// "float32"/"float"/"fp32" → F32, "bfloat16"/"bf16" → BF16, "float16"/"half"/"fp16" → F16.
std::optional<DType> dtype_from_torch_name(std::string_view name) noexcept;

}  // namespace vlmrt
