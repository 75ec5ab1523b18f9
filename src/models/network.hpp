// A model family's network as data (DESIGN.md "a model family describes its network once"): where
// its tensors live and the switches that tell PaliGemma, PaliGemma2, Idefics3 and SmolVLM2 math
// apart (MODELS.md §3). The native engine executes this description; it never asks which family
// it runs. Tensor shapes come from expected_tensors() (tensor_inventory.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "models/model_config.hpp"

namespace vlmrt {

// How a connector turns vision tower rows into text-model rows (MODELS.md §3.3, §3.4).
enum class ConnectorKind {
  // PaliGemma: linear (with bias) Dv → H, then divided by sqrt(text hidden) in the model dtype.
  ScaledLinear,
  // Idefics3: pixel shuffle by `pixel_shuffle_scale`, then a bias-free linear Dv·s² → H.
  PixelShuffleLinear,
};

enum class TextNormForm { Gemma, Llama };  // (1 + w) in f32 / cast then ·w (§3.5, §3.7)
enum class MlpActivation { GeluTanh, Silu };

struct NetworkSpec {
  // Tensor name prefixes (canonical names, no trailing dot).
  std::string vision_prefix;     // "model.vision_tower.vision_model" / "model.vision_model"
  std::string connector_weight;  // the connector's linear weight
  std::string connector_bias;    // "" when the connector has no bias
  std::string text_prefix;       // "model.language_model" / "model.text_model"
  std::string lm_head_weight;    // "lm_head.weight", or the embedding table when tied

  // Vision tower (SigLIP, §3.1/§3.2): Idefics3 derives patch positions from the valid region of
  // each frame and masks padded patches; PaliGemma uses positions 0..N²−1 and no mask.
  bool vision_bucketed_positions = false;

  ConnectorKind connector = ConnectorKind::ScaledLinear;
  double connector_divisor = 1.0;        // ScaledLinear: sqrt(text hidden_size)
  std::int64_t pixel_shuffle_scale = 1;  // PixelShuffleLinear: scale_factor

  // Text decoder (§3.5–§3.8).
  TextNormForm norm = TextNormForm::Llama;
  MlpActivation activation = MlpActivation::Silu;
  bool sandwich_norms = false;  // Gemma2: pre/post feed-forward norms, post-attention norm on attn
  // Gemma multiplies every input embedding (image rows too) by sqrt(H) cast to the model dtype.
  std::optional<double> embedding_multiplier;
  double attention_scale = 1.0;             // query_pre_attn_scalar^-0.5 (Gemma2) or head_dim^-0.5
  std::optional<double> attention_softcap;  // Gemma2 attn_logit_softcapping
  // Gemma2's final_logit_softcapping exists in config.json but transformers v5 does not apply
  // it (errata 14); the goldens are made without it, so it stays off here.
  std::optional<double> final_logit_softcap;
  std::optional<std::int64_t> sliding_window;  // applies to layers where is_sliding_layer()
  std::int64_t position_offset = 0;            // RoPE position of cache slot 0 (PaliGemma: 1)
  bool prefix_lm = false;  // PaliGemma: prompt blocks with token_type 0 attend bidirectionally

  std::string vision_layer(std::int64_t i) const;  // "<vision_prefix>.encoder.layers.<i>"
  std::string text_layer(std::int64_t i) const;    // "<text_prefix>.layers.<i>"
  // Gemma2: even layers use the sliding window (§3.6).
  bool is_sliding_layer(std::int64_t i) const noexcept {
    return sliding_window.has_value() && i % 2 == 0;
  }
};

NetworkSpec describe_network(const ModelConfig& config);

}  // namespace vlmrt
