#include "models/network.hpp"

#include <cmath>

namespace vlmrt {

std::string NetworkSpec::vision_layer(std::int64_t i) const {
  return vision_prefix + ".encoder.layers." + std::to_string(i);
}

std::string NetworkSpec::text_layer(std::int64_t i) const {
  return text_prefix + ".layers." + std::to_string(i);
}

NetworkSpec describe_network(const ModelConfig& config) {
  NetworkSpec spec;
  const TextConfig& text = config.text;
  if (is_paligemma(config.family)) {
    spec.vision_prefix = "model.vision_tower.vision_model";
    spec.connector_weight = "model.multi_modal_projector.linear.weight";
    spec.connector_bias = "model.multi_modal_projector.linear.bias";
    spec.text_prefix = "model.language_model";
    spec.connector = ConnectorKind::ScaledLinear;
    // Never the stale top-level hidden_size (§3.3).
    spec.connector_divisor = std::sqrt(static_cast<double>(text.hidden_size));
    spec.position_offset = 1;  // §3.8
    spec.prefix_lm = true;
  } else {
    spec.vision_prefix = "model.vision_model";
    spec.connector_weight = "model.connector.modality_projection.proj.weight";
    spec.text_prefix = "model.text_model";
    spec.vision_bucketed_positions = true;
    spec.connector = ConnectorKind::PixelShuffleLinear;
    spec.pixel_shuffle_scale = config.scale_factor;
  }
  spec.lm_head_weight =
      config.tie_word_embeddings ? spec.text_prefix + ".embed_tokens.weight" : "lm_head.weight";

  const bool gemma = text.architecture != TextArchitecture::Llama;
  spec.norm = gemma ? TextNormForm::Gemma : TextNormForm::Llama;
  spec.activation = gemma ? MlpActivation::GeluTanh : MlpActivation::Silu;
  if (gemma) spec.embedding_multiplier = std::sqrt(static_cast<double>(text.hidden_size));
  // Python's `d ** -0.5` (§7.4), a double, cast to f32 where it meets the scores.
  spec.attention_scale = std::pow(static_cast<double>(text.head_dim), -0.5);
  if (text.architecture == TextArchitecture::Gemma2) {
    spec.sandwich_norms = true;
    if (text.query_pre_attn_scalar)
      spec.attention_scale = std::pow(*text.query_pre_attn_scalar, -0.5);
    spec.attention_softcap = text.attn_logit_softcapping;
    spec.sliding_window = text.sliding_window;
  }
  return spec;
}

}  // namespace vlmrt
