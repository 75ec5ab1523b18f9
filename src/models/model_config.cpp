#include "models/model_config.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace vlmrt {

namespace {

using json::Json;

// Upper bounds far above any real model, so that derived shapes (vocab·hidden, ...) cannot
// overflow int64 and nothing is ever allocated from an absurd value.
constexpr std::int64_t kMaxWidth = std::int64_t{1} << 20;  // hidden, intermediate, heads, head_dim
constexpr std::int64_t kMaxLayers = 1024;
constexpr std::int64_t kMaxVocab = std::int64_t{1} << 24;
constexpr std::int64_t kMaxImageSize = std::int64_t{1} << 16;
constexpr std::int64_t kMaxChannels = 16;
constexpr std::int64_t kMaxPositions = std::int64_t{1} << 26;
constexpr std::int64_t kMaxScaleFactor = 64;

// "path: text_config" + "hidden_size" → "path: field 'text_config.hidden_size'" (same form as
// core/json's messages).
std::string field_label(const std::string& where, std::string_view key) {
  const auto colon = where.find(": ");
  if (colon == std::string::npos) return where + ": field '" + std::string(key) + "'";
  return where.substr(0, colon) + ": field '" + where.substr(colon + 2) + "." + std::string(key) +
         "'";
}

// The dotted name alone ("text_config.hidden_size"), for messages that relate two fields.
std::string field_name(const std::string& where, std::string_view key) {
  const auto colon = where.find(": ");
  if (colon == std::string::npos) return std::string(key);
  return where.substr(colon + 2) + "." + std::string(key);
}

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorKind::Format, message);
}

std::int64_t check_range(std::int64_t value, std::int64_t max, const std::string& where,
                         std::string_view key) {
  if (value <= 0 || value > max)
    fail(field_label(where, key) + " must be a positive integer no larger than " +
         std::to_string(max) + ", found " + std::to_string(value));
  return value;
}

std::int64_t required_size(const Json& object, std::string_view key, std::int64_t max,
                           const std::string& where) {
  return check_range(json::get<std::int64_t>(object, key, where), max, where, key);
}

std::int64_t size_or(const Json& object, std::string_view key, std::int64_t fallback,
                     std::int64_t max, const std::string& where) {
  return check_range(json::get_or<std::int64_t>(object, key, fallback, where), max, where, key);
}

double positive_number_or(const Json& object, std::string_view key, double fallback,
                          const std::string& where) {
  const double value = json::get_or<double>(object, key, fallback, where);
  if (!(value > 0.0) || !std::isfinite(value))
    fail(field_label(where, key) + " must be a positive finite number, found " +
         std::to_string(value));
  return value;
}

// Absent → fallback; explicit null → nullopt (Gemma2 uses null to switch a softcap off).
std::optional<double> nullable_number(const Json& object, std::string_view key, double fallback,
                                      const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_null()) return std::nullopt;
  const double value = json::get<double>(object, key, where);
  if (!(value > 0.0) || !std::isfinite(value))
    fail(field_label(where, key) + " must be a positive finite number or null, found " +
         std::to_string(value));
  return value;
}

// An id or a list of ids (eos_token_id may be either).
std::vector<std::int64_t> id_list(const Json& object, std::string_view key,
                                  const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_array()) return {json::get<std::int64_t>(object, key, where)};
  std::vector<std::int64_t> ids;
  for (const auto& element : *it) {
    if (!element.is_number_integer() ||
        (element.is_number_unsigned() && element.get<std::uint64_t>() > kMaxVocab))
      json::detail::throw_wrong_type(where, key, "an integer or a list of integers", *it);
    ids.push_back(element.get<std::int64_t>());
  }
  return ids;
}

const Json& child_object(const Json& config, std::string_view key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) json::detail::throw_missing(where, key);
  if (!it->is_object()) json::detail::throw_wrong_type(where, key, "an object", *it);
  return *it;
}

void require_divisible(std::int64_t value, const std::string& value_field, std::int64_t divisor,
                       const std::string& divisor_field, const std::string& file) {
  if (value % divisor != 0)
    fail(file + ": field '" + value_field + "' (" + std::to_string(value) +
         ") must be divisible by '" + divisor_field + "' (" + std::to_string(divisor) + ")");
}

std::string file_of(const std::string& where) {
  return where.substr(0, where.find(": "));
}

VisionConfig parse_vision(const Json& object, ModelFamily family, const std::string& where) {
  VisionConfig v;
  v.model_type = json::get_or<std::string>(object, "model_type", "", where);
  static constexpr std::string_view kIdefics3Types[] = {"", "idefics3", "idefics3_vision",
                                                        "smolvlm_vision", "siglip_vision_model"};
  const bool known = is_paligemma(family)
                         ? (v.model_type.empty() || v.model_type == "siglip_vision_model")
                         : std::find(std::begin(kIdefics3Types), std::end(kIdefics3Types),
                                     v.model_type) != std::end(kIdefics3Types);
  if (!known)
    throw Error(ErrorKind::Unsupported, field_label(where, "model_type") + " '" + v.model_type +
                                            "' is not a vision tower vlmrt runs for " +
                                            std::string(family_name(family)));
  if (is_paligemma(family)) {
    v.hidden_size = required_size(object, "hidden_size", kMaxWidth, where);
    v.intermediate_size = required_size(object, "intermediate_size", kMaxWidth, where);
    v.num_hidden_layers = required_size(object, "num_hidden_layers", kMaxLayers, where);
    v.num_attention_heads = required_size(object, "num_attention_heads", kMaxWidth, where);
    v.patch_size = required_size(object, "patch_size", kMaxImageSize, where);
  } else {  // Idefics3VisionConfig class defaults (MODELS.md errata 10)
    v.hidden_size = size_or(object, "hidden_size", 1152, kMaxWidth, where);
    v.intermediate_size = size_or(object, "intermediate_size", 3072, kMaxWidth, where);
    v.num_hidden_layers = size_or(object, "num_hidden_layers", 12, kMaxLayers, where);
    v.num_attention_heads = size_or(object, "num_attention_heads", 16, kMaxWidth, where);
    v.patch_size = size_or(object, "patch_size", 32, kMaxImageSize, where);
  }
  v.image_size = size_or(object, "image_size", 224, kMaxImageSize, where);
  v.num_channels = size_or(object, "num_channels", 3, kMaxChannels, where);
  v.layer_norm_eps = positive_number_or(object, "layer_norm_eps", 1e-6, where);
  v.hidden_act = json::get_or<std::string>(object, "hidden_act", "gelu_pytorch_tanh", where);

  const auto file = file_of(where);
  require_divisible(v.hidden_size, field_name(where, "hidden_size"), v.num_attention_heads,
                    field_name(where, "num_attention_heads"), file);
  if (v.patch_size > v.image_size)
    fail(field_label(where, "patch_size") + " (" + std::to_string(v.patch_size) +
         ") must not exceed '" + field_name(where, "image_size") + "' (" +
         std::to_string(v.image_size) + ")");
  // SigLIP at 224/14 tiles exactly; Idefics3 2.2B runs 384/14 and the conv drops the last 6 px.
  if (is_paligemma(family))
    require_divisible(v.image_size, field_name(where, "image_size"), v.patch_size,
                      field_name(where, "patch_size"), file);
  return v;
}

void parse_rope(const Json& object, TextConfig& t, const std::string& where) {
  const auto params = object.find("rope_parameters");  // transformers v5
  if (params != object.end() && !params->is_null()) {
    const auto params_where = json::child_where(where, "rope_parameters");
    if (!params->is_object())
      json::detail::throw_wrong_type(where, "rope_parameters", "an object", *params);
    const auto type = json::get_or<std::string>(*params, "rope_type", "default", params_where);
    if (type != "default")
      throw Error(ErrorKind::Unsupported,
                  field_label(params_where, "rope_type") + " '" + type +
                      "' is not supported (vlmrt implements unscaled RoPE only)");
    if (json::get_optional<double>(*params, "rope_theta", params_where)) {
      t.rope_theta = positive_number_or(*params, "rope_theta", 0.0, params_where);
      t.rope_theta_field = field_name(where, "rope_parameters.rope_theta");
      return;
    }
  }
  const auto scaling = object.find("rope_scaling");  // transformers v4
  if (scaling != object.end() && !scaling->is_null()) {
    const auto scaling_where = json::child_where(where, "rope_scaling");
    if (!scaling->is_object())
      json::detail::throw_wrong_type(where, "rope_scaling", "an object or null", *scaling);
    auto type = json::get_or<std::string>(*scaling, "rope_type", "", scaling_where);
    if (type.empty()) type = json::get_or<std::string>(*scaling, "type", "default", scaling_where);
    if (type != "default")
      throw Error(ErrorKind::Unsupported,
                  field_label(where, "rope_scaling") + " of type '" + type +
                      "' is not supported (vlmrt implements unscaled RoPE only)");
  }
  if (object.contains("rope_theta") && !object["rope_theta"].is_null()) {
    t.rope_theta = positive_number_or(object, "rope_theta", 0.0, where);
    t.rope_theta_field = field_name(where, "rope_theta");
  }
}

TextConfig parse_text(const Json& object, ModelFamily family, const std::string& where) {
  TextConfig t;
  const bool gemma = is_paligemma(family);
  t.model_type = json::get_or<std::string>(object, "model_type", gemma ? "gemma" : "llama", where);
  if (family == ModelFamily::PaliGemma) {
    t.architecture = TextArchitecture::Gemma;
  } else if (family == ModelFamily::PaliGemma2) {
    t.architecture = TextArchitecture::Gemma2;
  } else {
    if (t.model_type != "llama")
      throw Error(ErrorKind::Unsupported, field_label(where, "model_type") + " '" + t.model_type +
                                              "' is not supported for " +
                                              std::string(family_name(family)) +
                                              " (expected llama)");
    t.architecture = TextArchitecture::Llama;
  }
  t.hidden_size = required_size(object, "hidden_size", kMaxWidth, where);
  t.intermediate_size = required_size(object, "intermediate_size", kMaxWidth, where);
  t.num_hidden_layers = required_size(object, "num_hidden_layers", kMaxLayers, where);
  t.num_attention_heads = required_size(object, "num_attention_heads", kMaxWidth, where);
  t.vocab_size = required_size(object, "vocab_size", kMaxVocab, where);
  const auto file = file_of(where);
  require_divisible(t.hidden_size, field_name(where, "hidden_size"), t.num_attention_heads,
                    field_name(where, "num_attention_heads"), file);
  if (gemma) {
    t.num_key_value_heads = required_size(object, "num_key_value_heads", kMaxWidth, where);
    t.head_dim = size_or(object, "head_dim", 256, kMaxWidth, where);
    t.max_position_embeddings =
        size_or(object, "max_position_embeddings", 8192, kMaxPositions, where);
    // Gemma's MLP reads hidden_activation only; hidden_act is ignored by transformers.
    t.hidden_act =
        json::get_or<std::string>(object, "hidden_activation", "gelu_pytorch_tanh", where);
  } else {
    t.num_key_value_heads =
        size_or(object, "num_key_value_heads", t.num_attention_heads, kMaxWidth, where);
    t.head_dim =
        size_or(object, "head_dim", t.hidden_size / t.num_attention_heads, kMaxWidth, where);
    t.max_position_embeddings =
        size_or(object, "max_position_embeddings", 2048, kMaxPositions, where);
    t.hidden_act = json::get_or<std::string>(object, "hidden_act", "silu", where);
    t.attention_bias = json::get_or<bool>(object, "attention_bias", false, where);
    t.mlp_bias = json::get_or<bool>(object, "mlp_bias", false, where);
  }
  require_divisible(t.num_attention_heads, field_name(where, "num_attention_heads"),
                    t.num_key_value_heads, field_name(where, "num_key_value_heads"), file);
  t.rms_norm_eps = positive_number_or(object, "rms_norm_eps", 1e-6, where);
  parse_rope(object, t, where);
  if (t.architecture == TextArchitecture::Gemma2) {  // Gemma2Config class defaults
    t.query_pre_attn_scalar = positive_number_or(object, "query_pre_attn_scalar", 256.0, where);
    t.attn_logit_softcapping = nullable_number(object, "attn_logit_softcapping", 50.0, where);
    t.final_logit_softcapping = nullable_number(object, "final_logit_softcapping", 30.0, where);
    if (const auto it = object.find("sliding_window"); it == object.end()) {
      t.sliding_window = 4096;
    } else if (!it->is_null()) {
      t.sliding_window = required_size(object, "sliding_window", kMaxPositions, where);
    }
  }
  return t;
}

std::optional<std::string> dtype_string(const Json& object, std::string_view key,
                                        const std::string& where) {
  return json::get_optional<std::string>(object, key, where);
}

void parse_dtype(const Json& config, const Json& text, ModelConfig& c, const std::string& where,
                 const std::string& text_where) {
  struct Candidate {
    const Json* object;
    std::string_view key;
    const std::string* where;
  };
  // v5 writes "dtype", v4 "torch_dtype"; the top level is authoritative (it is what HF loads).
  const Candidate candidates[] = {{&config, "dtype", &where},
                                  {&config, "torch_dtype", &where},
                                  {&text, "dtype", &text_where},
                                  {&text, "torch_dtype", &text_where}};
  for (const auto& candidate : candidates) {
    const auto name = dtype_string(*candidate.object, candidate.key, *candidate.where);
    if (!name) continue;
    const auto dtype = dtype_from_torch_name(*name);
    if (!dtype)
      fail(field_label(*candidate.where, candidate.key) +
           " must be float32, bfloat16 or float16, found '" + *name + "'");
    c.dtype = *dtype;
    c.dtype_name = *name;
    c.dtype_field = field_name(*candidate.where, candidate.key);
    return;
  }
  c.dtype = DType::F32;  // transformers' default when nothing is recorded
  c.dtype_name = "float32";
}

// Special ids: PaliGemma keeps them at the top level, Idefics3 in text_config (its top level can
// carry Idefics3Config's stale pad_token_id 128002 — MODELS.md §1.2 quirks).
void parse_special_ids(const Json& config, const Json& text, ModelConfig& c,
                       const std::string& where, const std::string& text_where) {
  const bool top_first = is_paligemma(c.family);
  const Json& first = top_first ? config : text;
  const Json& second = top_first ? text : config;
  const std::string& first_where = top_first ? where : text_where;
  const std::string& second_where = top_first ? text_where : where;
  auto pick = [&](std::string_view key) {
    auto ids = id_list(first, key, first_where);
    if (ids.empty()) ids = id_list(second, key, second_where);
    std::vector<std::int64_t> kept;
    for (const auto id : ids) {
      if (id >= 0 && id < c.text.vocab_size) {
        kept.push_back(id);
      } else {
        c.notes.push_back("ignored " + std::string(key) + " " + std::to_string(id) +
                          ": outside the vocabulary of " + std::to_string(c.text.vocab_size));
      }
    }
    return kept;
  };
  const auto single = [](const std::vector<std::int64_t>& ids) {
    return ids.empty() ? std::nullopt : std::optional<std::int64_t>(ids.front());
  };
  c.bos_token_id = single(pick("bos_token_id"));
  c.eos_token_ids = pick("eos_token_id");
  c.pad_token_id = single(pick("pad_token_id"));
  // Report a stale top-level value that disagrees with the one used.
  if (!top_first) {
    if (const auto top_pad = json::get_optional<std::int64_t>(config, "pad_token_id", where);
        top_pad && c.pad_token_id && *top_pad != *c.pad_token_id)
      c.notes.push_back("ignored top-level pad_token_id " + std::to_string(*top_pad) +
                        "; text_config says " + std::to_string(*c.pad_token_id));
  }
}

}  // namespace

std::string_view text_architecture_name(TextArchitecture architecture) noexcept {
  switch (architecture) {
    case TextArchitecture::Gemma:
      return "gemma";
    case TextArchitecture::Gemma2:
      return "gemma2";
    case TextArchitecture::Llama:
      return "llama";
  }
  return "?";
}

std::optional<DType> dtype_from_torch_name(std::string_view name) noexcept {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  if (name == "float32" || name == "float" || name == "fp32") return DType::F32;
  if (name == "bfloat16" || name == "bf16") return DType::BF16;
  if (name == "float16" || name == "half" || name == "fp16") return DType::F16;
  return std::nullopt;
}

ModelConfig ModelConfig::from_json(const Json& config, const std::string& where) {
  if (!config.is_object()) json::detail::throw_not_object(where);
  ModelConfig c;
  c.family = detect_family(config, where);
  c.model_type = json::get<std::string>(config, "model_type", where);
  const auto vision_where = json::child_where(where, "vision_config");
  const auto text_where = json::child_where(where, "text_config");
  const Json& vision = child_object(config, "vision_config", where);
  const Json& text = child_object(config, "text_config", where);
  c.vision = parse_vision(vision, c.family, vision_where);
  c.text = parse_text(text, c.family, text_where);
  parse_dtype(config, text, c, where, text_where);

  // image_token_index is the older spelling (PaliGemma); image_token_id wins when both exist.
  auto token = json::get_optional<std::int64_t>(config, "image_token_id", where);
  std::string token_key = "image_token_id";
  if (!token) {
    token = json::get_optional<std::int64_t>(config, "image_token_index", where);
    token_key = "image_token_index";
  }
  if (!token) fail(field_label(where, "image_token_id") + " (or 'image_token_index') is missing");
  if (*token < 0 || *token >= c.text.vocab_size)
    fail(field_label(where, token_key) + " (" + std::to_string(*token) +
         ") must be a token id below text_config.vocab_size (" + std::to_string(c.text.vocab_size) +
         ")");
  c.image_token_id = *token;

  const auto file = file_of(where);
  if (is_paligemma(c.family)) {
    c.scale_factor = 1;
    c.image_seq_len = c.vision.num_patches();
    auto projection = json::get_optional<std::int64_t>(config, "projection_dim", where);
    std::string projection_field = "projection_dim";
    if (!projection) {
      projection = json::get_optional<std::int64_t>(vision, "projection_dim", vision_where);
      projection_field = "vision_config.projection_dim";
    }
    c.projection_dim = projection.value_or(c.text.hidden_size);
    if (c.projection_dim != c.text.hidden_size)
      fail(file + ": field '" + projection_field + "' (" + std::to_string(c.projection_dim) +
           ") must equal 'text_config.hidden_size' (" + std::to_string(c.text.hidden_size) +
           "): the projector feeds the text model");
    // PaliGemma2 keeps PaliGemma1's top-level hidden_size 2048; image features are scaled by the
    // text hidden size (MODELS.md §3.3), so the stale value is only reported.
    if (const auto top_hidden = json::get_optional<std::int64_t>(config, "hidden_size", where);
        top_hidden && *top_hidden != c.text.hidden_size)
      c.notes.push_back("ignored stale top-level hidden_size " + std::to_string(*top_hidden) +
                        "; text_config.hidden_size is " + std::to_string(c.text.hidden_size));
  } else {
    c.scale_factor = check_range(json::get<std::int64_t>(config, "scale_factor", where),
                                 kMaxScaleFactor, where, "scale_factor");
    const auto per_side = c.vision.patches_per_side();
    if (per_side % c.scale_factor != 0)
      fail(file + ": field 'scale_factor' (" + std::to_string(c.scale_factor) +
           ") must divide the patches per side of the vision tower (vision_config.image_size / "
           "patch_size = " +
           std::to_string(per_side) + ")");
    c.image_seq_len = c.vision.num_patches() / (c.scale_factor * c.scale_factor);
    c.projection_dim = c.text.hidden_size;
    if (c.vision.image_size % c.vision.patch_size != 0)
      c.notes.push_back("vision image_size " + std::to_string(c.vision.image_size) +
                        " is not a multiple of patch " + std::to_string(c.vision.patch_size) +
                        ": the patch conv ignores the last " +
                        std::to_string(c.vision.image_size % c.vision.patch_size) + " pixels");
    if (const auto top_vocab = json::get_optional<std::int64_t>(config, "vocab_size", where);
        top_vocab && *top_vocab != c.text.vocab_size)
      c.notes.push_back("ignored top-level vocab_size " + std::to_string(*top_vocab) +
                        "; text_config.vocab_size is " + std::to_string(c.text.vocab_size));
  }

  if (const auto tie = json::get_optional<bool>(config, "tie_word_embeddings", where)) {
    c.tie_word_embeddings = *tie;
  } else {
    c.tie_word_embeddings =
        json::get_or<bool>(text, "tie_word_embeddings", is_paligemma(c.family), text_where);
  }
  parse_special_ids(config, text, c, where, text_where);
  return c;
}

ModelConfig ModelConfig::load(const std::filesystem::path& location) {
  // A .json path is the config file itself; anything else is a model folder.
  const auto path = location.extension() == ".json" ? location : location / "config.json";
  return from_json(json::read_file(path), path.string());
}

}  // namespace vlmrt
