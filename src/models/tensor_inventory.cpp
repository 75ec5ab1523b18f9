#include "models/tensor_inventory.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace vlmrt {

namespace {

using Shape = std::vector<std::int64_t>;

// MODELS.md §2.1 "Renames": legacy prefix → current prefix.
constexpr std::pair<std::string_view, std::string_view> kPaliGemmaRenames[] = {
    {"language_model.model.", "model.language_model."},
    {"language_model.lm_head.", "lm_head."},
    {"vision_tower.", "model.vision_tower."},
    {"multi_modal_projector.", "model.multi_modal_projector."},
};

class Builder {
 public:
  void add(std::string name, Shape shape, bool optional = false) {
    tensors_.push_back({std::move(name), std::move(shape), optional});
  }
  void add_linear(const std::string& prefix, std::int64_t out, std::int64_t in, bool bias) {
    add(prefix + ".weight", {out, in});
    if (bias) add(prefix + ".bias", {out});
  }
  void add_layer_norm(const std::string& prefix, std::int64_t width) {
    add(prefix + ".weight", {width});
    add(prefix + ".bias", {width});
  }
  std::vector<ExpectedTensor> take() { return std::move(tensors_); }

 private:
  std::vector<ExpectedTensor> tensors_;
};

// SigLIP tower layout shared by PaliGemma and Idefics3 (MODELS.md §2.1, §2.2).
void add_vision(Builder& b, const std::string& prefix, const VisionConfig& v) {
  const auto d = v.hidden_size;
  b.add(prefix + ".embeddings.patch_embedding.weight",
        {d, v.num_channels, v.patch_size, v.patch_size});
  b.add(prefix + ".embeddings.patch_embedding.bias", {d});
  b.add(prefix + ".embeddings.position_embedding.weight", {v.num_patches(), d});
  for (std::int64_t j = 0; j < v.num_hidden_layers; ++j) {
    const auto layer = prefix + ".encoder.layers." + std::to_string(j);
    b.add_layer_norm(layer + ".layer_norm1", d);
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"})
      b.add_linear(layer + ".self_attn." + proj, d, d, true);
    b.add_layer_norm(layer + ".layer_norm2", d);
    b.add_linear(layer + ".mlp.fc1", v.intermediate_size, d, true);
    b.add_linear(layer + ".mlp.fc2", d, v.intermediate_size, true);
  }
  b.add_layer_norm(prefix + ".post_layernorm", d);
}

void add_text(Builder& b, const std::string& prefix, const TextConfig& t) {
  const auto h = t.hidden_size;
  const auto q_width = t.num_attention_heads * t.head_dim;
  const auto kv_width = t.num_key_value_heads * t.head_dim;
  b.add(prefix + ".embed_tokens.weight", {t.vocab_size, h});
  for (std::int64_t i = 0; i < t.num_hidden_layers; ++i) {
    const auto layer = prefix + ".layers." + std::to_string(i);
    b.add_linear(layer + ".self_attn.q_proj", q_width, h, t.attention_bias);
    b.add_linear(layer + ".self_attn.k_proj", kv_width, h, t.attention_bias);
    b.add_linear(layer + ".self_attn.v_proj", kv_width, h, t.attention_bias);
    b.add_linear(layer + ".self_attn.o_proj", h, q_width, t.attention_bias);
    b.add_linear(layer + ".mlp.gate_proj", t.intermediate_size, h, t.mlp_bias);
    b.add_linear(layer + ".mlp.up_proj", t.intermediate_size, h, t.mlp_bias);
    b.add_linear(layer + ".mlp.down_proj", h, t.intermediate_size, t.mlp_bias);
    b.add(layer + ".input_layernorm.weight", {h});
    b.add(layer + ".post_attention_layernorm.weight", {h});
    if (t.architecture == TextArchitecture::Gemma2) {
      b.add(layer + ".pre_feedforward_layernorm.weight", {h});
      b.add(layer + ".post_feedforward_layernorm.weight", {h});
    }
  }
  b.add(prefix + ".norm.weight", {h});
}

bool is_legacy_paligemma_name(std::string_view name) {
  return std::any_of(std::begin(kPaliGemmaRenames), std::end(kPaliGemmaRenames),
                     [&](const auto& rename) { return name.starts_with(rename.first); });
}

std::string replace_prefix(std::string_view name, std::string_view from, std::string_view to) {
  return std::string(to) + std::string(name.substr(from.size()));
}

}  // namespace

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config) {
  Builder b;
  const auto& t = config.text;
  if (is_paligemma(config.family)) {
    add_vision(b, "model.vision_tower.vision_model", config.vision);
    b.add_linear("model.multi_modal_projector.linear", config.projection_dim,
                 config.vision.hidden_size, true);
    add_text(b, "model.language_model", t);
  } else {
    add_vision(b, "model.vision_model", config.vision);
    // Pixel shuffle then a bias-free linear (MODELS.md §3.4).
    b.add("model.connector.modality_projection.proj.weight",
          {t.hidden_size, config.connector_input_dim()});
    add_text(b, "model.text_model", t);
  }
  b.add("lm_head.weight", {t.vocab_size, t.hidden_size}, config.tie_word_embeddings);
  return b.take();
}

std::string canonical_tensor_name(ModelFamily family, std::string_view name) {
  if (!is_paligemma(family)) return std::string(name);
  for (const auto& [legacy, current] : kPaliGemmaRenames)
    if (name.starts_with(legacy)) return replace_prefix(name, legacy, current);
  return std::string(name);
}

std::string legacy_tensor_name(ModelFamily family, std::string_view name) {
  if (!is_paligemma(family)) return std::string(name);
  for (const auto& [legacy, current] : kPaliGemmaRenames)
    if (name.starts_with(current)) return replace_prefix(name, current, legacy);
  return std::string(name);
}

bool is_ignored_buffer(std::string_view name) {
  return name.ends_with(".rotary_emb.inv_freq") || name == "position_ids" ||
         name.ends_with(".position_ids");
}

std::string format_shape(std::span<const std::int64_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

std::string_view tensor_naming_name(TensorNaming naming) noexcept {
  switch (naming) {
    case TensorNaming::Canonical:
      return "current";
    case TensorNaming::Legacy:
      return "legacy";
    case TensorNaming::Mixed:
      return "mixed";
  }
  return "?";
}

std::string WrongShapeTensor::message() const {
  return "tensor '" + name + "' has shape " + format_shape(found) + ", config says " +
         format_shape(expected);
}

InventoryReport check_inventory(const ModelConfig& config, std::span<const TensorInfo> tensors) {
  InventoryReport report;
  const auto expected = expected_tensors(config);
  report.expected_count = expected.size();
  report.checkpoint_count = tensors.size();

  std::map<std::string_view, const ExpectedTensor*> by_name;
  for (const auto& tensor : expected) by_name.emplace(tensor.name, &tensor);
  std::map<std::string, const TensorInfo*> found;  // canonical name → checkpoint tensor
  std::map<DType, DTypeCount> dtypes;
  bool any_legacy = false;
  bool any_current = false;
  for (const auto& info : tensors) {
    if (is_ignored_buffer(info.name)) {
      report.ignored.push_back(info.name);
      continue;
    }
    auto& count = dtypes[info.dtype];
    count.dtype = info.dtype;
    ++count.tensors;
    count.parameters += info.element_count();
    auto canonical = canonical_tensor_name(config.family, info.name);
    if (is_paligemma(config.family)) {
      // Only names of the model's own tree tell the naming era apart.
      if (is_legacy_paligemma_name(info.name)) {
        any_legacy = true;
      } else if (by_name.contains(canonical)) {
        any_current = true;
      }
    }
    if (!by_name.contains(canonical) || !found.emplace(std::move(canonical), &info).second)
      report.unexpected.push_back(info.name);
  }
  report.naming = any_legacy && any_current ? TensorNaming::Mixed
                  : any_legacy              ? TensorNaming::Legacy
                                            : TensorNaming::Canonical;

  for (const auto& tensor : expected) {
    const auto it = found.find(tensor.name);
    if (it == found.end()) {
      if (tensor.optional) {
        report.lm_head_tied = true;
      } else {
        report.missing.push_back(report.naming == TensorNaming::Legacy
                                     ? legacy_tensor_name(config.family, tensor.name)
                                     : tensor.name);
      }
      continue;
    }
    if (it->second->shape != tensor.shape) {
      report.wrong_shape.push_back({it->second->name, tensor.shape, it->second->shape});
    } else {
      ++report.matched_count;
    }
  }
  std::sort(report.unexpected.begin(), report.unexpected.end());
  std::sort(report.ignored.begin(), report.ignored.end());
  for (const auto& [dtype, count] : dtypes) report.dtypes.push_back(count);
  std::stable_sort(report.dtypes.begin(), report.dtypes.end(),
                   [](const DTypeCount& a, const DTypeCount& b) { return a.tensors > b.tensors; });
  return report;
}

InventoryReport check_inventory(const ModelConfig& config, const Checkpoint& checkpoint) {
  std::vector<TensorInfo> tensors;
  for (const auto& shard : checkpoint.shards())
    tensors.insert(tensors.end(), shard.tensors().begin(), shard.tensors().end());
  return check_inventory(config, tensors);
}

}  // namespace vlmrt
